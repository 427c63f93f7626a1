"""When a UTC day may be rolled up into the whole-workspace aggregates, and a UTC month
into each link's monthly ones (issue 23).

A day is rolled up from the per-link daily rows once it is closed: its last click
stored. Clicks reach ClickHouse through the bus, seconds late as a rule, so a day is
rolled ``GRACE`` after it ends. A click stored later than that for its day (a replay
from the bus, a backlog) makes that day's rollup stale: ``late_days`` names those days,
and the store marks them invalid until the next sweep rolls them again.

A month is rolled once its last day may be: a year by day then merges 12 monthly
visitor states and breakdowns per link instead of 365 daily ones. A late or erased day
makes its month stale too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

DAY: Final = 86_400
GRACE: Final = 2 * 3600  # seconds after a UTC day's end before it is rolled up


def rollable(day_start: int, now: float) -> bool:
    """True once the UTC day starting at ``day_start`` (epoch s) may be rolled up."""
    return day_start + DAY + GRACE <= now


def late_days(timestamps: Iterable[float], now: float) -> set[int]:
    """The starts of the rollable days these click timestamps fall in."""
    return {start for start in (int(ts // DAY) * DAY for ts in timestamps) if rollable(start, now)}


def month_start(day_start: int) -> int:
    """The start (epoch s) of the UTC month holding the day starting at ``day_start``."""
    day = datetime.fromtimestamp(day_start, UTC)
    return int(day.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())


def next_month(start: int) -> int:
    """The start of the UTC month after the one starting at ``start``."""
    first = datetime.fromtimestamp(start, UTC).date()
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return int(datetime(following.year, following.month, 1, tzinfo=UTC).timestamp())


def rollable_month(start: int, now: float) -> bool:
    """True once the UTC month starting at ``start`` may be rolled up: its last day may."""
    return rollable(next_month(start) - DAY, now)


def whole_months(day_from: int, day_to: int) -> list[int]:
    """The starts of the UTC months lying wholly in the days ``[day_from, day_to)``."""
    months: list[int] = []
    start = month_start(day_from)
    if start < day_from:
        start = next_month(start)
    while next_month(start) <= day_to:
        months.append(start)
        start = next_month(start)
    return months


@dataclass(frozen=True, slots=True)
class RollupWork:
    """What a sweep rolls: closed days (whole-workspace) and months (per link)."""

    days: tuple[int, ...] = ()
    months: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.days) + len(self.months)
