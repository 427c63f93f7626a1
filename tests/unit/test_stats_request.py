"""The stats query's range: only what clicks can be stored for (issue 19, finding 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortlink.domain.errors import InvalidFilter, InvalidRequest, InvalidTimezone, RangeTooLong
from shortlink.domain.stats_filters import Filter
from shortlink.domain.stats_request import (
    EARLIEST,
    LATEST,
    RealtimeRequest,
    parse_realtime_request,
    parse_stats_request,
)

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"from": "1969-12-31T23:59:59Z", "to": "1970-01-02"}, "from"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "2106-02-08"}, "to"),
        ({"from": "2106-01-01", "to": "2105-01-01"}, "from"),
    ],
)
def test_instants_clickhouse_cannot_hold_are_refused_by_name(
    args: dict[str, str], parameter: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_stats_request(args, NOW)
    assert refused.value.details["parameter"] == parameter
    assert "years 1970 to 2105" in refused.value.message


def test_a_default_from_starts_no_earlier_than_1970() -> None:
    query = parse_stats_request({"to": "1970-01-05"}, NOW)
    assert query.start == datetime(1970, 1, 1, tzinfo=UTC)
    assert query.end == datetime(1970, 1, 5, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match="after 'from'"):
        parse_stats_request({"to": "1970-01-01T00:00:00Z"}, NOW)


def test_the_edges_themselves_are_accepted() -> None:
    query = parse_stats_request({"from": "2100-01-01T00:00:00Z", "to": "2105-12-31T23:59:59Z"}, NOW)
    assert query.end == datetime(2105, 12, 31, 23, 59, 59, tzinfo=UTC)
    query = parse_stats_request({"from": "1970-01-01T00:00:00Z", "to": "1980-01-01"}, NOW)
    assert query.start == datetime(1970, 1, 1, tzinfo=UTC)


def test_the_written_year_is_what_the_document_bounds_and_offsets_are_clamped() -> None:
    # The OpenAPI pattern can only bound the year as written (1970-2105): an offset that
    # moves a written 1970 into 1969 is clamped to the first storable instant, not refused.
    query = parse_stats_request({"from": "1970-01-01T00:00:00+01:00", "to": "1970-01-02"}, NOW)
    assert query.start == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match="years 1970 to 2105"):
        parse_stats_request({"to": "2106-01-01"}, NOW)


@settings(max_examples=300, deadline=None)
@given(
    start=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    end=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    interval=st.sampled_from(["day", "hour", "", "week"]),
)
def test_any_range_is_refused_clearly_or_answered_within_what_is_stored(
    start: datetime | None, end: datetime | None, interval: str
) -> None:
    """Hostile-path property over the stats parameters: year 1 to 9999, any order."""
    args = {"interval": interval}
    args |= {"from": start.isoformat()} if start else {}
    args |= {"to": end.isoformat()} if end else {}
    try:
        query = parse_stats_request(args, NOW)
    except InvalidRequest:
        return
    assert EARLIEST <= query.start < query.end <= LATEST


# -- issue 23: timezone, comparison, limits, filters ------------------------------------


def test_a_hundred_years_by_hour_is_refused_not_shortened() -> None:
    with pytest.raises(RangeTooLong) as refused:
        parse_stats_request({"from": "1990-01-01", "to": "2090-01-01", "interval": "hour"}, NOW)
    assert refused.value.code == "RANGE_TOO_LONG"
    assert refused.value.details["parameter"] == "from"
    # a default 'from' is never too far
    assert parse_stats_request({"interval": "hour"}, NOW).start == NOW - timedelta(hours=48)


def test_ranges_outside_1970_to_2106_and_backwards_ones_are_400s_with_a_code() -> None:
    for args in (
        {"from": "1969-06-01", "to": "1970-02-01"},
        {"to": "2107-01-01"},
        {"from": "2026-02-01", "to": "2026-01-01"},
    ):
        with pytest.raises(InvalidRequest) as refused:
            parse_stats_request(args, NOW)
        assert refused.value.code == "INVALID_REQUEST"


def test_the_timezone_is_an_iana_name_and_dates_without_offset_are_read_in_it() -> None:
    query = parse_stats_request(
        {"from": "2026-07-01", "to": "2026-07-03", "timezone": "Europe/Paris"}, NOW
    )
    assert query.timezone == "Europe/Paris"
    assert query.start == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert query.end == datetime(2026, 7, 2, 22, tzinfo=UTC)
    # an explicit offset wins
    assert parse_stats_request(
        {"from": "2026-07-01T00:00:00Z", "to": "2026-07-02", "timezone": "Europe/Paris"}, NOW
    ).start == datetime(2026, 7, 1, tzinfo=UTC)
    assert parse_stats_request({}, NOW).timezone == "UTC"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "x" * 10_000, "utc\x00"])
def test_an_unknown_timezone_is_refused(zone: str) -> None:
    if not zone:
        assert parse_stats_request({"timezone": zone}, NOW).timezone == "UTC"
        return
    with pytest.raises(InvalidTimezone) as refused:
        parse_stats_request({"timezone": zone}, NOW)
    assert refused.value.details["parameter"] == "timezone"


def test_compare_with_the_previous_period() -> None:
    query = parse_stats_request(
        {"from": "2026-11-01", "to": "2026-11-08", "compare": "previous_period"}, NOW
    )
    assert query.compare == (datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert parse_stats_request({}, NOW).compare is None


def test_compare_with_a_chosen_period() -> None:
    query = parse_stats_request(
        {"from": "2026-11-01", "to": "2026-11-08", "compare": "custom",
         "compare_from": "2025-11-01", "compare_to": "2025-11-08"},
        NOW,
    )  # fmt: skip
    assert query.compare == (datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 11, 8, tzinfo=UTC))
    for args in (
        {"compare": "custom"},
        {"compare": "custom", "compare_from": "2025-11-08", "compare_to": "2025-11-01"},
        {"compare": "custom", "compare_from": "1900-01-01", "compare_to": "2025-11-01"},
        {"compare": "yesterday"},
    ):
        with pytest.raises(InvalidRequest):
            parse_stats_request(args, NOW)
    with pytest.raises(RangeTooLong):
        parse_stats_request(
            {"interval": "hour", "compare": "custom", "compare_from": "2020-01-01",
             "compare_to": "2025-01-01"},
            NOW,
        )  # fmt: skip


def test_a_comparison_range_without_compare_custom_is_refused_not_ignored() -> None:
    # A malformed compare_from once came back 200 (the fuzzer's ST201): a parameter the
    # request gives is read, never silently dropped.
    for args in (
        {"compare_from": "0"},
        {"compare_to": "2025-11-08"},
        {"compare": "previous_period", "compare_from": "2025-11-01", "compare_to": "2025-11-08"},
    ):
        with pytest.raises(InvalidRequest) as refused:
            parse_stats_request(args, NOW)
        assert refused.value.details["parameter"] == "compare"


def test_limit_and_filters() -> None:
    query = parse_stats_request({"limit": "25"}, NOW, ["country:is:US"])
    assert query.limit == 25
    assert query.filters == (Filter("country", "is", "US"),)
    assert parse_stats_request({}, NOW).limit == 10
    for bad in ("0", "101", "ten", "-1"):
        with pytest.raises(InvalidRequest):
            parse_stats_request({"limit": bad}, NOW)
    with pytest.raises(InvalidFilter):
        parse_stats_request({}, NOW, ["country:is:" + "x" * 10_240])


def test_realtime_takes_filters_and_a_limit_only() -> None:
    query = parse_realtime_request({"limit": "5"}, ["device:is:mobile"])
    assert query == RealtimeRequest((Filter("device", "is", "mobile"),), 5)
    with pytest.raises(InvalidFilter):
        parse_realtime_request({}, ["device:maybe:mobile"])


def test_the_previous_period_is_the_whole_hours_just_before_the_aligned_range() -> None:
    # The range is read as whole hours (10:00-13:00): the period before is 07:00-10:00,
    # not 10:30 minus 1 h 45 min, which would overlap it once aligned.
    query = parse_stats_request(
        {"from": "2026-11-01T10:30:00Z", "to": "2026-11-01T12:15:00Z", "interval": "hour",
         "compare": "previous_period"},
        NOW,
    )  # fmt: skip
    assert query.compare == (
        datetime(2026, 11, 1, 7, tzinfo=UTC),
        datetime(2026, 11, 1, 10, tzinfo=UTC),
    )
