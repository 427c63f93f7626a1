"""The stats query's range: only what clicks can be stored for (issue 19, finding 7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.stats_request import EARLIEST, LATEST, parse_stats_request

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
    query = parse_stats_request({"from": "1970-01-01T00:00:00Z", "to": "2105-12-31T23:59:59Z"}, NOW)
    assert query.end == datetime(2105, 12, 31, 23, 59, 59, tzinfo=UTC)


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
