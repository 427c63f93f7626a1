import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shortlink.domain.errors import InvalidRequest
from shortlink.services.links import decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("created_at", "code"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), "abc1234"),
        (datetime(2026, 1, 1, 3, 4, 5, 678901, tzinfo=UTC), "my_alias-2"),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))), "x"),
    ],
)
def test_cursor_round_trips(created_at, code):
    cursor = encode_cursor(created_at, code)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    decoded = decode_cursor(cursor)
    assert decoded == (created_at, code)
    assert decoded[0].utcoffset() == created_at.utcoffset()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "abc", "é", _b64(b"no-separator"), _b64(b"not-a-date|abc"), _b64(b"\xff\xfe|abc")],
)
def test_invalid_cursor_is_invalid_request(cursor):
    with pytest.raises(InvalidRequest, match="cursor") as exc:
        decode_cursor(cursor)
    assert exc.value.code == "INVALID_REQUEST"
