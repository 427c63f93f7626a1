"""Input that PostgreSQL can't store, requests over the size limits, slow clients,
wrong methods: each answered 4xx with a JSON error, never a 500."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import API_KEY, start_stack

AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
# As JSON escapes: a NUL, and a lone surrogate (valid JSON, not encodable as UTF-8).
UNSTORABLE = ["\\u0000", "\\ud800", "ab\\udfffcd"]


@pytest.fixture(scope="module")
def services(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path_factory.mktemp("hostile-logs"),
        SHORTLINK_REQUEST_TIMEOUT="1",
    )
    yield api, redirector
    redirector.stop()
    api.stop()


@pytest.fixture(scope="module")
def api(services: tuple[ServiceProcess, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services[0].base_url, headers=AUTH, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def visitor(services: tuple[ServiceProcess, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=services[1].base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def code(api: httpx.Client) -> str:
    created = api.post("/v1/urls", json={"original_url": "https://example.com/h", "password": "pw"})
    assert created.status_code == 201
    return str(created.json()["short_code"])


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error, response.text


def raw_json(template: str, bad: str) -> bytes:
    """``template`` with BAD in place of an escaped string, as bytes on the wire."""
    return template.replace("BAD", bad).encode()


@pytest.mark.parametrize("bad", UNSTORABLE)
@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("POST", "/v1/urls", '{"original_url": "https://example.com/BAD"}'),
        ("POST", "/v1/urls", '{"original_url": "https://example.com/", "custom_alias": "BAD"}'),
        ("POST", "/v1/urls", '{"original_url": "https://example.com/", "password": "pw BAD"}'),
        ("POST", "/v1/urls", '{"original_url": "https://example.com/", "expires_at": "BAD"}'),
        ("POST", "/v1/urls", '{"original_url": "https://example.com/", "BAD": 1}'),
        ("POST", "/v1/urls/bulk", '{"urls": [{"original_url": "https://example.com/BAD"}]}'),
        ("POST", "/v1/api-keys", '{"name": "key BAD"}'),
        ("POST", "/v1/api-keys", '{"name": "key", "owner": "BAD"}'),
        ("PATCH", "/v1/urls/{code}", '{"original_url": "https://example.com/BAD"}'),
        ("PATCH", "/v1/urls/{code}", '{"password": "BAD"}'),
        ("POST", "/v1/urls/{code}/unlock", '{"password": "BAD"}'),
    ],
)
def test_unstorable_strings_are_refused(
    api: httpx.Client, code: str, method: str, path: str, template: str, bad: str
) -> None:
    response = api.request(method, path.format(code=code), content=raw_json(template, bad))
    assert_error(response, 400, "INVALID_REQUEST")
    assert "NUL" in response.json()["message"]


@pytest.mark.parametrize("path", ["ab%00cd", "%00", "%ED%A0%80abc", "%C3%A9t%C3%A9", "a" * 21])
def test_codes_that_cannot_exist_are_not_found_everywhere(
    api: httpx.Client, visitor: httpx.Client, path: str
) -> None:
    for method in ("GET", "DELETE"):
        assert_error(api.request(method, f"/v1/urls/{path}"), 404, "NOT_FOUND")
    assert_error(api.patch(f"/v1/urls/{path}", json={"is_active": False}), 404, "NOT_FOUND")
    assert_error(api.post(f"/v1/urls/{path}/unlock", json={"password": "x"}), 404, "NOT_FOUND")
    assert_error(visitor.get(f"/{path}"), 404, "NOT_FOUND")
    page = visitor.get(f"/{path}", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "Link not found" in page.text


def test_the_password_form_refuses_a_nul_password_as_wrong(
    visitor: httpx.Client, code: str
) -> None:
    response = visitor.post(f"/{code}", data={"password": "p\x00w"})
    assert response.status_code == 401 and "Wrong password" in response.text


def test_cursors(api: httpx.Client) -> None:
    assert_error(api.get("/v1/urls", params={"cursor": "garbage"}), 400, "INVALID_REQUEST")
    assert_error(api.get("/v1/urls", params={"cursor": "12.a\x00b"}), 400, "INVALID_REQUEST")
    assert_error(api.get("/v1/urls", params={"q": "a\x00b"}), 400, "INVALID_REQUEST")
    assert api.get("/v1/urls", params={"cursor": "0.zzz"}).json() == {
        "items": [],
        "next_cursor": None,
        "clicks": None,  # asked for with include=clicks only
    }


def test_api_key_ids_past_bigint_are_not_found(api: httpx.Client) -> None:
    assert_error(api.delete(f"/v1/api-keys/{2**63}"), 404, "NOT_FOUND")


def test_bodies_over_the_limit_are_413(api: httpx.Client, visitor: httpx.Client) -> None:
    items = [{"original_url": f"https://example.com/{i}/" + "a" * 2000} for i in range(1000)]
    bulk = json.dumps({"urls": items})
    assert len(bulk) < 4 * 1024 * 1024  # a full bulk of long URLs fits
    assert api.post("/v1/urls/bulk", content=bulk.encode()).status_code == 201
    assert_error(
        api.post("/v1/urls", content=b"{" + b" " * (4 * 1024 * 1024) + b"}"),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert_error(visitor.post("/abc", data={"password": "x" * 9000}), 413, "PAYLOAD_TOO_LARGE")


def test_urls_over_the_limit_are_414(api: httpx.Client, visitor: httpx.Client) -> None:
    assert_error(api.get("/v1/urls", params={"cursor": "a" * 13_000}), 414, "URI_TOO_LONG")
    assert_error(visitor.get("/" + "a" * 5000), 414, "URI_TOO_LONG")
    assert visitor.get("/" + "a" * 4000).status_code == 404  # under it: just no such code


def test_headers_over_the_limit_are_431(api: httpx.Client, visitor: httpx.Client) -> None:
    assert_error(api.get("/v1/urls", headers={"X-Padding": "x" * 17_000}), 431, "HEADERS_TOO_LARGE")
    assert_error(visitor.get("/abc", headers={"X-Padding": "x" * 9000}), 431, "HEADERS_TOO_LARGE")


def test_405_names_the_allowed_methods(api: httpx.Client, visitor: httpx.Client) -> None:
    for client, path, allowed in (
        (api, "/v1/urls", {"GET", "POST", "OPTIONS"}),
        (api, "/v1/urls/abc", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        (api, "/v1/openapi.json", {"GET", "OPTIONS"}),
        (visitor, "/abc", {"GET", "HEAD", "POST", "OPTIONS"}),
    ):
        response = client.put(path)
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        assert set(response.headers["allow"].split(", ")) == allowed, path


@pytest.mark.parametrize("which", [0, 1])
def test_a_client_that_stalls_mid_request_is_cut_off(
    services: tuple[ServiceProcess, ServiceProcess], which: int
) -> None:
    """SHORTLINK_REQUEST_TIMEOUT is 1 s here: half a request, then silence."""
    address = urlsplit(services[which].base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET /abc HTTP/1.1\r\nHost: x\r\n")  # no blank line: never finished
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        waited = time.monotonic() - started
    assert 0.5 < waited < 5, waited
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert b'"error":"REQUEST_TIMEOUT"' in answer
