from datetime import UTC, datetime, timedelta, timezone

import pytest

from shortlink.domain.errors import InvalidExpiry
from shortlink.domain.expiry import format_instant, is_expired, parse_expiry

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_none_means_no_expiry():
    assert parse_expiry(None, NOW) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2030-01-01T00:00:00Z", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01T00:00:00+00:00", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01T02:00:00+02:00", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2029-12-31T19:00:00-05:00", datetime(2030, 1, 1, tzinfo=UTC)),
        ("2030-01-01T00:00:00", datetime(2030, 1, 1, tzinfo=UTC)),  # naive → UTC
        ("2030-01-01", datetime(2030, 1, 1, tzinfo=UTC)),
        ("  2030-01-01T00:00:00.250Z  ", datetime(2030, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)),
        ("2026-01-01T12:00:01Z", NOW + timedelta(seconds=1)),
    ],
)
def test_parses_future_iso_instants(raw, expected):
    parsed = parse_expiry(raw, NOW)
    assert parsed == expected
    assert parsed.utcoffset() is not None


def test_normalises_offsets_to_utc():
    parsed = parse_expiry("2030-01-01T02:00:00+02:00", NOW)
    assert parsed == datetime(2030, 1, 1, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_accepts_datetime_objects_and_treats_naive_as_utc():
    assert parse_expiry(datetime(2030, 1, 1), NOW) == datetime(2030, 1, 1, tzinfo=UTC)
    aware = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=-3)))
    assert parse_expiry(aware, NOW) == aware  # same instant, expressed in UTC


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-01T12:00:00Z",  # exactly now
        "2026-01-01T14:00:00+02:00",  # now, written with an offset
        "2026-01-01T11:59:59Z",
        "2000-01-01T00:00:00Z",
        NOW,
    ],
)
def test_now_or_past_is_rejected(raw):
    with pytest.raises(InvalidExpiry, match="in the future") as exc:
        parse_expiry(raw, NOW)
    assert exc.value.code == "INVALID_EXPIRY"
    assert "expires_at" in exc.value.details


@pytest.mark.parametrize("raw", ["", "tomorrow", "2030-13-01T00:00:00Z", "2030-01-01T25:00", "1e9"])
def test_garbage_strings_are_rejected(raw):
    with pytest.raises(InvalidExpiry, match="ISO 8601") as exc:
        parse_expiry(raw, NOW)
    assert exc.value.code == "INVALID_EXPIRY"


@pytest.mark.parametrize("raw", [1893456000, 1.5, ["2030-01-01"], {"at": "2030"}, True])
def test_non_strings_are_rejected(raw):
    with pytest.raises(InvalidExpiry, match="must be a string"):
        parse_expiry(raw, NOW)


def test_instant_not_representable_in_utc_is_rejected():
    with pytest.raises(InvalidExpiry):
        parse_expiry("9999-12-31T23:59:59-01:00", NOW)


@pytest.mark.parametrize(
    ("expires_at", "expired"),
    [
        (None, False),
        (NOW + timedelta(microseconds=1), False),
        (NOW, True),
        (NOW - timedelta(days=1), True),
    ],
)
def test_is_expired(expires_at, expired):
    assert is_expired(expires_at, NOW) is expired


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2030, 1, 1, tzinfo=UTC), "2030-01-01T00:00:00Z"),
        (datetime(2030, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), "2030-01-01T00:00:00Z"),
        (datetime(2029, 12, 31, 19, tzinfo=timezone(timedelta(hours=-5))), "2030-01-01T00:00:00Z"),
        (datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), "2030-01-01T00:00:00.123456Z"),
    ],
)
def test_format_instant_is_utc_with_z(moment, text):
    assert format_instant(moment) == text


def test_format_then_parse_round_trips():
    moment = datetime(2031, 6, 15, 8, 30, 5, tzinfo=UTC)
    assert parse_expiry(format_instant(moment), NOW) == moment
