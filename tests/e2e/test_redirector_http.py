"""The redirector speaks HTTP/1.1 as RFC 9110 and 9112 say (issue 20): a Date on
every answer, 400 for a missing or doubled Host and for a request line it can't
parse (answered, never a traceback), responses that vary by Accept say so, and
OPTIONS is answered with Allow."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import ApiClient
from tests.harness import ServiceProcess

HTML = {"Accept": "text/html"}
Stack = tuple[ServiceProcess, ServiceProcess, str]


def create(api: ApiClient, **body: object) -> str:
    response = api.call("POST", "/v1/urls", json={"original_url": "https://example.com/h", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["short_code"])


def raw_exchange(service: ServiceProcess, request: bytes) -> bytes:
    """``request`` as bytes on the wire; everything the server sends until it closes
    or goes quiet."""
    address = urlsplit(service.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                sock.settimeout(0.5)  # the rest of an answer follows at once
        except TimeoutError:
            pass
    return answer


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def assert_dated(headers: httpx.Headers) -> None:
    sent = parsedate_to_datetime(headers["date"])
    assert headers["date"].endswith(" GMT")
    assert abs(sent - datetime.now(UTC)) < timedelta(seconds=5), headers["date"]


def test_every_answer_carries_a_date(api: ApiClient, visitor: httpx.Client) -> None:
    """RFC 9110 §6.6.1: an origin server with a clock sends Date."""
    code = create(api)
    answers = [
        visitor.get(f"/{code}"),
        visitor.head(f"/{code}"),
        visitor.get("/no-such-code"),
        visitor.get("/no-such-code", headers=HTML),
        visitor.put(f"/{code}"),
        visitor.get("/" + "a" * 5000),
    ]
    assert [a.status_code for a in answers] == [302, 302, 404, 404, 405, 414]
    for answer in answers:
        assert_dated(answer.headers)


def test_the_date_moves_with_the_clock(api: ApiClient, visitor: httpx.Client) -> None:
    code = create(api)
    first = parsedate_to_datetime(visitor.get(f"/{code}").headers["date"])
    time.sleep(1.1)
    assert parsedate_to_datetime(visitor.get(f"/{code}").headers["date"]) > first


@pytest.mark.parametrize(
    "headers",
    [b"", b"Host: a.example\r\nHost: b.example\r\n", b"Host: a.example\r\nhost: a.example\r\n"],
    ids=["no-host", "two-hosts", "same-host-twice"],
)
def test_a_request_without_exactly_one_host_is_400(
    stack: Stack, api: ApiClient, headers: bytes
) -> None:
    """RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without a
    Host, and to any request with more than one."""
    code = create(api).encode()
    answer = raw_exchange(stack[1], b"GET /" + code + b" HTTP/1.1\r\n" + headers + b"\r\n")
    assert status_of(answer) == 400, answer
    assert b'"error":"INVALID_REQUEST"' in answer
    assert b"Host" in answer  # says what was wrong


def test_http_1_0_may_leave_host_out(stack: Stack, api: ApiClient) -> None:
    code = create(api).encode()
    assert status_of(raw_exchange(stack[1], b"GET /" + code + b" HTTP/1.0\r\n\r\n")) == 302


def test_a_nul_in_the_request_line_is_400_without_a_traceback(stack: Stack) -> None:
    redirector = stack[1]
    before = redirector.log()
    for _ in range(20):
        answer = raw_exchange(redirector, b"GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(answer) == 400, answer
        assert b'"error":"INVALID_REQUEST"' in answer
    assert raw_exchange(redirector, b"GET /abc HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
        b"HTTP/1.1 404"
    )  # still serving
    logged = redirector.log()[len(before) :]
    assert "Traceback" not in logged and "uncaught" not in logged, logged[-3000:]
    # At most a debug line each (not logged at the default level), never an error.
    assert '"level":"error"' not in logged and '"level":"warning"' not in logged, logged[-3000:]


def test_negotiated_answers_say_they_vary_by_accept(api: ApiClient, visitor: httpx.Client) -> None:
    protected = create(api, password="pw")
    expired = create(api, expires_at=(datetime.now(UTC) + timedelta(seconds=1)).isoformat())
    time.sleep(1.2)
    for path, status in (("/no-such-code", 404), (f"/{expired}", 410), (f"/{protected}", 403)):
        for accept in ({}, HTML):
            answer = visitor.get(path, headers=accept)
            assert answer.status_code == status, (path, accept)
            assert answer.headers["vary"] == "Accept", (path, accept)
            assert answer.headers["cache-control"] == "no-store", (path, accept)


def test_an_unknown_path_is_not_echoed_whole(visitor: httpx.Client) -> None:
    path = "/" + "x" * 4090
    for accept in ({}, HTML):
        answer = visitor.get(path, headers=accept)
        assert answer.status_code == 404
        assert "x" * 100 not in answer.text
        assert "x" * 40 in answer.text  # enough to recognise
    nested = visitor.get("/a/" + "y" * 4000)
    assert nested.status_code == 404 and "y" * 100 not in nested.text


def test_the_root_says_what_belongs_there(visitor: httpx.Client) -> None:
    answer = visitor.get("/")
    assert answer.status_code == 404
    body = answer.json()
    assert body["error"] == "NOT_FOUND"
    assert "  " not in body["message"] and "/<code>" in body["message"], body
    assert visitor.get("/", headers=HTML).status_code == 404


def test_permanent_redirects_say_max_age_without_redundant_public(
    api: ApiClient, visitor: httpx.Client
) -> None:
    """A 301/308 is cacheable by default (RFC 9111 §4.2.2): ``public`` adds nothing."""
    for redirect_type in (301, 308):
        answer = visitor.get(f"/{create(api, redirect_type=redirect_type)}")
        assert answer.status_code == redirect_type
        assert answer.headers["cache-control"] == "max-age=3600"


def test_options_is_answered_with_allow(api: ApiClient, visitor: httpx.Client) -> None:
    code = create(api)
    answer = visitor.options(f"/{code}")
    assert answer.status_code == 204, answer.text
    assert set(answer.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert answer.content == b""
    assert_dated(answer.headers)
