"""redirector.responses: headers encoded once per link, and nothing unsafe in them."""

from __future__ import annotations

from sanic.compat import Header
from sanic.response import HTTPResponse

from shortlink.domain.links import Destination
from shortlink.redirector.responses import (
    BodilessResponse,
    encode_headers,
    redirect_headers_cache,
)


def destination(target: str = "https://example.com/a", redirect_type: int = 302) -> Destination:
    return Destination(target, redirect_type, expires_at=None, password_fingerprint=None)


def test_encoding_strips_what_would_split_a_response() -> None:
    assert encode_headers({"Location": "https://e.com/\r\nSet-Cookie: x=1\x00"}) == (
        (b"Location", b"https://e.com/Set-Cookie: x=1"),
    )


def test_redirect_headers_per_destination_are_encoded_once() -> None:
    headers = redirect_headers_cache(permanent_max_age=60, size=10)
    first = headers(destination())
    assert first == ((b"Location", b"https://example.com/a"), (b"Cache-Control", b"no-store"))
    assert headers(destination()) is first
    assert headers(destination(redirect_type=301)) == (
        (b"Location", b"https://example.com/a"),
        (b"Cache-Control", b"max-age=60"),
    )
    protected = Destination("https://example.com/a", 302, None, password_fingerprint="f")
    assert headers(protected)[1] == (b"Cache-Control", b"private, no-store")


def test_the_cache_is_bounded() -> None:
    headers = redirect_headers_cache(permanent_max_age=60, size=2)
    oldest = headers(destination("https://example.com/0"))
    headers(destination("https://example.com/1"))
    headers(destination("https://example.com/2"))
    assert headers(destination("https://example.com/0")) is not oldest


def test_response_sends_its_headers_then_sanics_and_cookies_without_content_type() -> None:
    response = BodilessResponse(303, encode_headers({"Location": "/abc"}))
    response.headers["content-length"] = 0
    response.add_cookie("unlock_token", "t\r\n", path="/abc")
    sent = dict(response.processed_headers)
    assert sent[b"Location"] == b"/abc"
    assert sent[b"content-length"] == b"0"
    assert sent[b"Set-Cookie"].startswith(b"unlock_token=")
    assert b"\r" not in sent[b"Set-Cookie"] and b"\n" not in sent[b"Set-Cookie"]
    assert b"content-type" not in {name.lower() for name in sent}


def test_a_bodiless_response_starts_as_sanics_own_response_does() -> None:
    """BodilessResponse sets Sanic's attributes itself (one Header, not two chained
    initialisers): every slot Sanic's response classes declare holds what
    HTTPResponse(status=...) would, so an upgrade adding one fails here."""
    ours = BodilessResponse(307, encode_headers({"Location": "https://e.com/"}))
    sanics = HTTPResponse(status=307)
    slots = [name for cls in type(sanics).__mro__ for name in getattr(cls, "__slots__", ())]
    assert slots
    for name in slots:
        mine, theirs = getattr(ours, name), getattr(sanics, name)
        if isinstance(theirs, Header):
            assert isinstance(mine, Header) and dict(mine) == dict(theirs), name
        else:
            assert mine == theirs, name
