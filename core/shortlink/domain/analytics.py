"""Click analytics: the stored click row, and the stats a link owner reads back.

Stats ranges are half-open ``[start, end)`` and aligned outwards to whole UTC hours
(the finest grain the aggregates keep): 10:30-12:15 reads 10:00-13:00. The series has
one bucket per hour or per UTC day in that range, zero buckets included, so a chart
needs no gap filling; with ``interval="day"`` the first and last buckets may cover
part of a day only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal, cast

from shortlink.domain.errors import InvalidRequest

Interval = Literal["day", "hour", "minute"]  # minute: realtime only
INTERVALS: Final = ("day", "hour")
HOUR: Final = 3600
DAY: Final = 86400
MAX_SERIES_BUCKETS: Final = 5000  # ~13 years by day, ~208 days by hour
BREAKDOWNS: Final = (
    "countries",
    "cities",
    "devices",
    "os",
    "browsers",
    "referrers",
    # Issue 22: the rule and the variant ("<rule>/<variant>", "link/<variant>") that
    # served the clicks, and the link's tags.
    "rules",
    "variants",
    "tags",
    # Issue 23: the links of a workspace's stats (empty for one link's).
    "links",
)


@dataclass(frozen=True, slots=True)
class ClickRow:
    """One enriched click as stored in ClickHouse's ``clicks`` table."""

    event_id: str
    code: str
    ts: float  # epoch seconds (stored with millisecond precision)
    method: str
    ip: str  # anonymized unless configured otherwise; "" if the client IP was unusable
    visitor_id: int  # UInt64, see domain.visitors.visitor_id
    country: str  # ISO 3166-1 alpha-2, "" if unknown
    city: str  # English name, "" if unknown
    lat: float | None
    lon: float | None
    device: str  # domain.visitors.DEVICE_TYPES
    os: str
    browser: str
    user_agent: str
    referrer: str
    referrer_host: str  # "" for direct traffic
    is_bot: bool
    is_human: bool  # a person's GET: what "clicks" counts
    rule_id: str = ""  # the rule that served it ("" none)
    variant_id: str = ""  # the A/B variant ("" none)
    tags: tuple[str, ...] = ()  # the link's tags


@dataclass(frozen=True, slots=True)
class Totals:
    clicks: int  # human GET clicks
    bot_clicks: int
    unique_visitors: int  # distinct visitors among the human clicks


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    t: int  # bucket start, epoch seconds (UTC)
    clicks: int


@dataclass(frozen=True, slots=True)
class Count:
    value: str
    clicks: int


@dataclass(frozen=True, slots=True)
class LinkStats:
    code: str
    start: int  # aligned range, epoch seconds, half-open
    end: int
    interval: Interval
    totals: Totals
    series: tuple[SeriesPoint, ...]
    countries: tuple[Count, ...]  # ISO codes
    cities: tuple[Count, ...]  # "City, CC"
    devices: tuple[Count, ...]
    os: tuple[Count, ...]
    browsers: tuple[Count, ...]
    referrers: tuple[Count, ...]  # hosts
    rules: tuple[Count, ...] = ()  # rule ids
    variants: tuple[Count, ...] = ()  # "<rule id>/<variant id>", "link/<variant id>"
    tags: tuple[Count, ...] = ()
    links: tuple[Count, ...] = ()  # codes, in a workspace's stats


@dataclass(frozen=True, slots=True)
class ClickSummary:
    """A link's clicks at a glance, for lists: all-time human clicks, and those of each
    of the last few UTC days (oldest first, today last; zeros included)."""

    total: int
    recent_days: tuple[int, ...]


SUMMARY_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class StatsRange:
    """An aligned stats range and how the aggregates cover it: whole UTC days from the
    daily tables, the ragged hours at either end from the hourly ones."""

    start: int
    end: int
    interval: Interval
    days: tuple[int, int]  # [first day start, end of last whole day), empty if equal
    edge_hours: tuple[tuple[int, int], ...]  # hour ranges outside the whole days

    @property
    def step(self) -> int:
        return DAY if self.interval == "day" else HOUR

    def bucket_starts(self) -> range:
        first = self.start - self.start % self.step
        return range(first, self.end, self.step)


def stats_range(start: float, end: float, interval: str) -> StatsRange:
    """Align ``[start, end)`` (epoch seconds) outwards to hours and split it into
    whole days and edge hours. Raises InvalidRequest for a bad interval or range."""
    if interval not in INTERVALS:
        raise InvalidRequest("interval must be day or hour", interval=interval)
    if end <= start:
        raise InvalidRequest("the range must end after it starts")
    first = math.floor(start / HOUR) * HOUR
    last = math.ceil(end / HOUR) * HOUR
    step = DAY if interval == "day" else HOUR
    if math.ceil((last - (first - first % step)) / step) > MAX_SERIES_BUCKETS:
        raise InvalidRequest(
            f"the range spans more than {MAX_SERIES_BUCKETS} {interval} buckets",
            max_buckets=MAX_SERIES_BUCKETS,
        )
    day_first = -(-first // DAY) * DAY
    day_last = last // DAY * DAY
    if day_first < day_last:
        edges = tuple(r for r in ((first, day_first), (day_last, last)) if r[0] < r[1])
        days = (day_first, day_last)
    else:
        edges = ((first, last),)
        days = (first, first)
    return StatsRange(first, last, cast(Interval, interval), days, edges)
