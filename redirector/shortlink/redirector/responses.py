"""Redirect responses with their headers encoded once, not on every click.

Sanic re-sanitizes and re-encodes every header of every response (two
``str.translate`` calls and two encodes each): on a cached redirect that was a
quarter of the CPU. A link's Location and Cache-Control are the same for every
click, so they are encoded when the link is first served and reused until it
leaves the cache. The response also carries no Content-Type: it has no body, and
Sanic's default for one without a content type was the literal ``None``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from sanic.compat import Header
from sanic.response import HTTPResponse

from shortlink.domain.links import Destination, redirect_cache_control
from shortlink.http.wire import encoded_date

EncodedHeaders = tuple[tuple[bytes, bytes], ...]
# What Sanic strips from header values (response splitting); targets are
# validated URLs without them, so this is belt and braces.
_UNSAFE_IN_HEADERS = str.maketrans("", "", "\r\n\x00")


def _encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    return (
        name.translate(_UNSAFE_IN_HEADERS).encode("ascii"),
        value.translate(_UNSAFE_IN_HEADERS).encode(errors="surrogateescape"),
    )


def encode_headers(headers: dict[str, str]) -> EncodedHeaders:
    return tuple(_encode_header(name, value) for name, value in headers.items())


# What Sanic itself sets on every bodiless response as it sends it.
_SANIC_HEADERS: dict[tuple[str, object], tuple[bytes, bytes]] = {
    (name, value): _encode_header(name, f"{value}")
    for name, value in (
        ("content-length", 0),
        ("connection", "keep-alive"),
        ("connection", "close"),
    )
}


class BodilessResponse(HTTPResponse):
    """A response without a body whose own headers come encoded. What Sanic adds
    as it sends (content-length, connection, date) and cookies are encoded as usual."""

    __slots__ = ("_encoded",)

    def __init__(self, status: int, encoded: EncodedHeaders) -> None:
        # What HTTPResponse(status=status) sets, without its two chained initialisers,
        # each building a Header (one is dropped at once): a redirect is answered with
        # one. test_responses holds the attributes to Sanic's own.
        self.asgi = False
        self.body = b""
        self.content_type = None
        self.stream = None
        self.status = status
        self.headers = Header()
        self._cookies = None
        self._encoded = encoded

    @property
    def processed_headers(self) -> Iterator[tuple[bytes, bytes]]:
        yield from self._encoded
        for name, value in self.headers.items():
            encoded = _SANIC_HEADERS.get((name, value)) or encoded_date(value)
            yield encoded or _encode_header(name, f"{value}")


def redirect_headers_cache(
    permanent_max_age: int, size: int
) -> Callable[[Destination], EncodedHeaders]:
    """Location and Cache-Control of a link's redirect, encoded, for the last
    ``size`` destinations served (the size of the in-process link cache)."""

    @functools.lru_cache(maxsize=size)
    def encoded(destination: Destination) -> EncodedHeaders:
        return encode_headers(
            {
                "Location": destination.target,
                "Cache-Control": redirect_cache_control(destination, permanent_max_age),
            }
        )

    return encoded


def routed_headers_cache(size: int) -> Callable[[str], EncodedHeaders]:
    """Location and Cache-Control of a redirect decided by a link's options. Never
    stored, whatever its status: the next click may be another visitor's decision,
    and a limited link must see every click."""

    @functools.lru_cache(maxsize=size)
    def encoded(target: str) -> EncodedHeaders:
        return encode_headers({"Location": target, "Cache-Control": "private, no-store"})

    return encoded
