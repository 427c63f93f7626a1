from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shortlink.domain.analytics import DAY, HOUR, MAX_SERIES_BUCKETS, stats_range
from shortlink.domain.errors import InvalidRequest


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_range_aligns_outwards_to_hours() -> None:
    span = stats_range(_ts("2024-03-05T10:30:00"), _ts("2024-03-05T12:15:00"), "hour")
    assert (span.start, span.end) == (_ts("2024-03-05T10:00:00"), _ts("2024-03-05T13:00:00"))
    assert list(span.bucket_starts()) == [span.start, span.start + HOUR, span.start + 2 * HOUR]
    # no whole day inside: all of it comes from the hourly tables
    assert span.days[0] == span.days[1]
    assert span.edge_hours == ((span.start, span.end),)


def test_aligned_ends_stay_put() -> None:
    span = stats_range(_ts("2024-03-05T10:00:00"), _ts("2024-03-05T12:00:00"), "hour")
    assert (span.start, span.end) == (_ts("2024-03-05T10:00:00"), _ts("2024-03-05T12:00:00"))


def test_range_splits_into_whole_days_and_edge_hours() -> None:
    span = stats_range(_ts("2024-03-05T22:00:00"), _ts("2024-03-08T01:30:00"), "day")
    assert span.days == (_ts("2024-03-06T00:00:00"), _ts("2024-03-08T00:00:00"))
    assert span.edge_hours == (
        (_ts("2024-03-05T22:00:00"), _ts("2024-03-06T00:00:00")),
        (_ts("2024-03-08T00:00:00"), _ts("2024-03-08T02:00:00")),
    )
    # day buckets start at midnight, the partial first day included
    assert list(span.bucket_starts()) == [_ts("2024-03-05T00:00:00") + i * DAY for i in range(4)]


def test_whole_days_need_no_edges() -> None:
    span = stats_range(_ts("2024-03-01T00:00:00"), _ts("2024-04-01T00:00:00"), "day")
    assert span.days == (span.start, span.end)
    assert span.edge_hours == ()
    assert len(span.bucket_starts()) == 31


@pytest.mark.parametrize(
    ("start", "end", "interval"),
    [(10, 10, "day"), (20, 10, "hour"), (0, 100, "week"), (0, 100, "")],
)
def test_bad_ranges_and_intervals(start: int, end: int, interval: str) -> None:
    with pytest.raises(InvalidRequest):
        stats_range(start, end, interval)


def test_too_many_buckets() -> None:
    stats_range(0, MAX_SERIES_BUCKETS * HOUR, "hour")
    with pytest.raises(InvalidRequest):
        stats_range(0, (MAX_SERIES_BUCKETS + 1) * HOUR, "hour")
