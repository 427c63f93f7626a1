"""Pure rules behind the web UI's API: session CSRF checks, list filters, QR params."""

from __future__ import annotations

import pytest

from shortlink.api.qr_codes import parse_qr_request, render_qr
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.link_listing import LinkFilter, like_pattern, parse_link_filter
from shortlink.domain.sessions import (
    Session,
    csrf_token_matches,
    new_token,
    same_origin,
    session_digest,
)


def test_tokens_are_random_and_stored_only_as_digests() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 43
    assert session_digest(first) != first and len(session_digest(first)) == 64


@pytest.mark.parametrize(
    ("presented", "ok"), [("tok", True), ("tok ", False), ("", False), (None, False), ("x", False)]
)
def test_csrf_token_must_match_exactly(presented: str | None, ok: bool) -> None:
    assert csrf_token_matches(Session("ab", "tok", 0.0), presented) is ok


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        (None, True),
        ("http://127.0.0.1:8080", True),
        ("HTTP://127.0.0.1:8080", True),
        ("http://127.0.0.1:8081", False),
        ("https://evil.example", False),
        ("null", False),
        ("file://127.0.0.1:8080", False),
    ],
)
def test_origin_must_be_this_host(origin: str | None, ok: bool) -> None:
    assert same_origin(origin, "127.0.0.1:8080") is ok


def test_link_filter_defaults_and_validation() -> None:
    assert parse_link_filter(None, None, None) == LinkFilter(None, "all", "-created_at")
    parsed = parse_link_filter("  shop ", "expired", "code")
    assert parsed == LinkFilter("shop", "expired", "code")
    assert parsed.by_code and not parsed.descending
    for args in (("x" * 201, None, None), (None, "old", None), (None, None, "target")):
        with pytest.raises(InvalidRequest):
            parse_link_filter(*args)


def test_like_pattern_takes_wildcards_literally() -> None:
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_qr_parameters() -> None:
    assert parse_qr_request(None, None) == ("svg", 320)
    assert parse_qr_request("png", "64") == ("png", 64)
    for args in (("gif", None), (None, "63"), (None, "2049"), (None, "1e3")):
        with pytest.raises(InvalidRequest):
            parse_qr_request(*args)


def test_qr_image_fits_the_size() -> None:
    png = render_qr("http://127.0.0.1:8081/abc1234", "png", 200)
    assert png.startswith(b"\x89PNG")
    width = int.from_bytes(png[16:20], "big")
    assert 100 < width <= 200
