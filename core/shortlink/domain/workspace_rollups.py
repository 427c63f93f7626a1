"""When a UTC day may be rolled up into the whole-workspace aggregates (issue 23).

A day is rolled up from the per-link daily rows once it is closed: its last click
stored. Clicks reach ClickHouse through the bus, seconds late as a rule, so a day is
rolled ``GRACE`` after it ends. A click stored later than that for its day (a replay
from the bus, a backlog) makes that day's rollup stale: ``late_days`` names those days,
and the store marks them invalid until the next sweep rolls them again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

DAY: Final = 86_400
GRACE: Final = 2 * 3600  # seconds after a UTC day's end before it is rolled up


def rollable(day_start: int, now: float) -> bool:
    """True once the UTC day starting at ``day_start`` (epoch s) may be rolled up."""
    return day_start + DAY + GRACE <= now


def late_days(timestamps: Iterable[float], now: float) -> set[int]:
    """The starts of the rollable days these click timestamps fall in."""
    return {start for start in (int(ts // DAY) * DAY for ts in timestamps) if rollable(start, now)}
