"""The buckets of a stats series in a timezone, and which store path answers a query.

The aggregates keep whole UTC hours and days: they answer an unfiltered query. Totals
and breakdowns of a range don't depend on the zone; the series of a zone whose offsets
are whole hours is summed from the hourly aggregates, that of a +05:30 zone from the raw
clicks. A filter is answered from the raw clicks of the links asked about (``clicks`` is
ordered by code and time, so that reads those links' rows in the range, not the table).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from shortlink.domain.analytics import DAY, SeriesPoint
from shortlink.domain.stats_filters import Filter

MINUTE: Final = 60
REALTIME_MINUTES: Final = 30
_QUARTER: Final = 15 * MINUTE  # every zone's offset is a whole number of quarter hours


# The names of UTC itself (a browser may report Etc/UTC): their buckets are the
# aggregates' own. Not a zone at +00:00 today only (Europe/London, Africa/Abidjan).
UTC_NAMES: Final = frozenset(
    {"UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich"}
    | {f"Etc/{name}" for name in ("UTC", "UCT", "Universal", "Zulu", "GMT", "GMT0", "GMT+0",
                                  "GMT-0", "Greenwich")}
)  # fmt: skip


def uses_aggregates(timezone: str, filters: Iterable[Filter]) -> bool:
    return timezone in UTC_NAMES and not any(True for _ in filters)


def hours_are_utc_hours(timezone: str, start: int, end: int) -> bool:
    """Whether every offset of ``timezone`` over ``[start, end)`` is a whole number of
    hours: then its days and hours are unions of UTC hours, and the hourly aggregates
    can give its series (not so for +05:30, +05:45, Lord Howe's +10:30)."""
    zone = ZoneInfo(timezone)
    for t in (*range(start, end, DAY // 4), end - 1):
        offset = datetime.fromtimestamp(t, zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
    return True


def bucket_starts(start: int, end: int, interval: str, timezone: str) -> tuple[int, ...]:
    """Epoch seconds of each bucket's start in ``timezone`` covering ``[start, end)``:
    local midnights (a day may be 23 or 25 hours long), local hours, or minutes."""
    if interval == "minute":
        return tuple(range(start - start % MINUTE, end, MINUTE))
    zone = ZoneInfo(timezone)
    starts: set[int] = set()
    for t in range(start - start % _QUARTER, end, DAY if interval == "day" else _QUARTER):
        starts.add(_local_floor(t, interval, zone))
    if interval == "day":
        starts.add(_local_floor(end - 1, interval, zone))
    return tuple(sorted(starts))


def _local_floor(t: int, interval: str, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(t, zone)
    local = local.replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        local = local.replace(hour=0)
        # a zone whose clocks skip midnight starts that day at the first hour there is
        while int(local.timestamp()) > t:
            local -= timedelta(hours=1)
    return int(local.astimezone(UTC).timestamp())


def place(counts: Mapping[int, int], starts: tuple[int, ...]) -> tuple[SeriesPoint, ...]:
    """Counts keyed by bucket start (as the store computed them) onto ``starts``, zeros
    included; a key between two starts goes to the earlier one."""
    per_bucket = [0] * len(starts)
    for t, clicks in counts.items():
        per_bucket[max(bisect_right(starts, t) - 1, 0)] += clicks
    return tuple(SeriesPoint(t, c) for t, c in zip(starts, per_bucket, strict=True))


def realtime_range(now: float) -> tuple[int, int]:
    """The last 30 minutes, this one included: whole minutes, half-open."""
    end = int(now) - int(now) % MINUTE + MINUTE
    return end - REALTIME_MINUTES * MINUTE, end
