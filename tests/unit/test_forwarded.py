"""The client address from X-Forwarded-For is the one Sanic's proxy parsing gives
(its ``remote_addr``, IPv6 brackets removed), for every proxy count and header shape."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sanic import Request
from sanic.compat import Header
from sanic.config import Config
from sanic.headers import parse_xforwarded

from shortlink.http import client_ip
from shortlink.http.forwarded import client_address, forwarded_client

HEADER = "X-Forwarded-For"


def sanic_client(lines: list[str], proxies_count: int) -> str:
    """What shortlink.http.client_ip took from Sanic before: remote_addr, unbracketed."""
    config = Config()
    config.PROXIES_COUNT = proxies_count
    headers = Header([(HEADER, line) for line in lines])
    forwarded = str((parse_xforwarded(headers, config) or {}).get("for", ""))
    if forwarded.startswith("[") and forwarded.endswith("]"):
        return forwarded[1:-1]
    return forwarded


@pytest.mark.parametrize(
    ("lines", "proxies_count", "client"),
    [
        (["81.2.69.142"], 1, "81.2.69.142"),
        (["81.2.69.142, 10.0.0.1"], 1, "10.0.0.1"),  # the last proxy's view
        (["81.2.69.142, 10.0.0.1"], 2, "81.2.69.142"),
        (["81.2.69.142", "10.0.0.1"], 2, "81.2.69.142"),  # header lines joined
        (["10.0.0.1"], 2, ""),  # fewer entries than trusted proxies
        ([" , 81.2.69.142 ,, "], 1, "81.2.69.142"),  # blanks dropped
        (["2001:DB8::1"], 1, "2001:db8::1"),
        (["[2001:db8::1]"], 1, "2001:db8::1"),
        (["unknown"], 1, ""),
        (["_Hidden"], 1, "_Hidden"),  # obfuscated identifiers kept as sent
        (["Example.COM"], 1, "example.com"),
        ([], 1, ""),
        (["81.2.69.142"], 0, ""),
    ],
)
def test_forwarded_client(lines: list[str], proxies_count: int, client: str) -> None:
    headers = Header([(HEADER, line) for line in lines])
    assert forwarded_client(headers, proxies_count, HEADER) == client
    assert sanic_client(lines, proxies_count) == client


_ENTRY = st.sampled_from(
    ["81.2.69.142", "10.0.0.1", "2001:DB8::1", "[::1]", "unknown", "UNKNOWN", "_x", "[", "[]",
     "a.B", "", " ", ",", "  ,1.2.3.4", "::ffff:1.2.3.4", "x]"]
)  # fmt: skip


@given(
    st.lists(st.lists(_ENTRY, max_size=4).map(", ".join), max_size=3),
    st.integers(min_value=0, max_value=4),
)
def test_forwarded_client_agrees_with_sanic(lines: list[str], proxies_count: int) -> None:
    headers = Header([(HEADER, line) for line in lines])
    assert forwarded_client(headers, proxies_count, HEADER) == sanic_client(lines, proxies_count)


def _request(config: Config, **headers: str) -> Request:
    app = SimpleNamespace(config=config)
    return Request(b"/abc", Header(headers), "1.1", "GET", None, app)  # type: ignore[arg-type]


def test_client_address_reads_the_trusted_proxies_forwarded_for() -> None:
    config = Config()
    config.PROXIES_COUNT = 1
    request = _request(config, **{"X-Forwarded-For": "81.2.69.142, 2001:DB8::1"})
    assert client_address(config)(request) == "2001:db8::1"
    assert client_ip(request) == "2001:db8::1"


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    config = Config()
    config.PROXIES_COUNT = 0
    request = _request(config, **{"X-Forwarded-For": "81.2.69.142"})
    assert client_address(config)(request) == request.ip


def test_a_forwarded_secret_leaves_the_parsing_to_sanic() -> None:
    config = Config()
    config.PROXIES_COUNT = 1
    config.FORWARDED_SECRET = "mysecret"
    request = _request(
        config, forwarded="for=81.2.69.142;secret=mysecret", **{"X-Forwarded-For": "10.0.0.1"}
    )
    assert client_address(config)(request) == "81.2.69.142"
