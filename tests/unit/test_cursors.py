from datetime import UTC, datetime, timedelta, timezone

import pytest

from shortlink.domain.cursors import CURSOR_PATTERN, decode_cursor, encode_cursor
from shortlink.domain.errors import InvalidRequest


@pytest.mark.parametrize(
    ("created_at", "code"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), "abc1234"),
        (datetime(2026, 1, 1, 3, 4, 5, 678901, tzinfo=UTC), "my_alias-2"),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))), "x"),
    ],
)
def test_cursor_round_trips_to_the_same_instant(created_at, code):
    cursor = encode_cursor(created_at, code)
    assert CURSOR_PATTERN.fullmatch(cursor)
    assert decode_cursor(cursor) == (created_at, code)  # aware datetimes compare as instants


@pytest.mark.parametrize("cursor", ["0.a", "9999999999999999.abcdefghijklmnopqrst"])
def test_every_cursor_of_the_documented_shape_is_accepted(cursor):
    moment, code = decode_cursor(cursor)
    assert moment.tzinfo is UTC and code == cursor.split(".")[1]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "abc",
        "é",
        "12.",
        ".abc",
        "12.abc.def",
        "1" * 17 + ".abc",
        "12." + "a" * 21,
        "12.ab\x00c",
        "١٢.abc",  # Arabic-Indic digits: \\d would take them, PostgreSQL would not
        "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHxhYmM=",  # the old base64 form
    ],
)
def test_invalid_cursor_is_invalid_request(cursor):
    with pytest.raises(InvalidRequest, match="cursor") as exc:
        decode_cursor(cursor)
    assert exc.value.code == "INVALID_REQUEST"
