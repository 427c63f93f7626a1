"""The query of a stats request: range, interval, timezone, comparison, filters, limit.

``from``/``to`` take an ISO 8601 date or date-time; one without an offset is read in the
request's ``timezone`` (an IANA name, UTC by default), in which daily buckets start too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from shortlink.domain.clicks import EARLIEST_CLICK, LATEST_CLICK
from shortlink.domain.errors import InvalidRequest, InvalidTimezone, RangeTooLong
from shortlink.domain.expiry import format_instant, parse_instant
from shortlink.domain.stats_filters import Filter, parse_filters

DEFAULT_SPAN = {"day": timedelta(days=30), "hour": timedelta(hours=48)}
# The longest range answered (3,660 daily or 744 hourly buckets): a longer one is a
# 400 RANGE_TOO_LONG, so no request can ask for millions of buckets.
MAX_SPAN = {"day": timedelta(days=3660), "hour": timedelta(days=31)}
# What clicks can be stored for (domain.clicks): a range outside is a client's mistake.
EARLIEST = datetime.fromtimestamp(EARLIEST_CLICK, UTC)
LATEST = datetime.fromtimestamp(LATEST_CLICK, UTC)
# The years a range may be written in, as the OpenAPI pattern states them (a pattern sees
# the written year, not the instant an offset makes of it): inside the storable instants,
# to which a written date near an edge is clamped.
FIRST_YEAR, LAST_YEAR = 1970, 2105
ORDER_REFUSED = "'to' must be after 'from'"
STATS_YEAR = r"(?:19[7-9][0-9]|20[0-9][0-9]|210[0-5])"
COMPARISONS = ("previous_period", "custom")
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
MAX_TIMEZONE_LENGTH = 64


@dataclass(frozen=True, slots=True)
class StatsRequest:
    start: datetime
    end: datetime
    interval: str
    timezone: str = "UTC"
    compare: tuple[datetime, datetime] | None = None  # the range compared with, if any
    filters: tuple[Filter, ...] = ()
    limit: int = DEFAULT_LIMIT  # rows kept per breakdown


def parse_stats_request(
    args: Mapping[str, str], now: datetime, filters: Iterable[str] = ()
) -> StatsRequest:
    """``to`` defaults to now, ``from`` to 30 days (48 hours by hour) before ``to``.
    ``compare``: ``previous_period`` (as long, just before) or ``custom``
    (``compare_from``/``compare_to``, checked like ``from``/``to``)."""
    interval = args.get("interval") or "day"
    if interval not in DEFAULT_SPAN:
        raise InvalidRequest("interval must be 'day' or 'hour'", interval=interval)
    zone = parse_timezone(args.get("timezone") or "UTC")
    start, end = _range(args, now, interval, zone, "from", "to")
    compare: tuple[datetime, datetime] | None = None
    if (args.get("compare_from") or args.get("compare_to")) and args.get("compare") != "custom":
        # Dropping them would answer a question not asked, and hide a typo in 'compare'.
        raise InvalidRequest(
            "compare_from and compare_to go with compare=custom", parameter="compare"
        )
    match args.get("compare") or "":
        case "":
            pass
        case "previous_period":
            # As long as the range read (whole hours, analytics.stats_range), ending
            # where it starts: the two series line up bucket for bucket.
            first, last = _whole_hours(start, end)
            compare = (max(first - (last - first), EARLIEST), first)
            if compare[0] == compare[1]:
                raise InvalidRequest("no period before 1970 to compare with", parameter="compare")
        case "custom":
            if not (args.get("compare_from") and args.get("compare_to")):
                raise InvalidRequest(
                    "compare=custom needs compare_from and compare_to", parameter="compare"
                )
            compare = _range(args, now, interval, zone, "compare_from", "compare_to")
        case _:
            raise InvalidRequest(
                f"compare must be one of {', '.join(COMPARISONS)}", parameter="compare"
            )
    return StatsRequest(
        start, end, interval, zone.key, compare, parse_filters(filters), _limit(args)
    )


def _whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    hour = timedelta(hours=1)
    first = start.replace(minute=0, second=0, microsecond=0)
    last = end.replace(minute=0, second=0, microsecond=0)
    return first, last if last == end else last + hour


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone this machine knows (400 INVALID_TIMEZONE otherwise)."""
    if len(name) > MAX_TIMEZONE_LENGTH or name not in known_timezones():
        raise InvalidTimezone(
            "timezone must be an IANA time zone name, e.g. Europe/Paris or UTC",
            parameter="timezone",
        )
    return ZoneInfo(name)


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _range(
    args: Mapping[str, str], now: datetime, interval: str, zone: ZoneInfo, first: str, last: str
) -> tuple[datetime, datetime]:
    end = _instant(args, last, zone) or now
    given = _instant(args, first, zone)
    # A default 'from' before 1970 starts there; one given is checked like 'to'.
    start = given or max(end - DEFAULT_SPAN[interval], EARLIEST)
    if end <= start:
        raise InvalidRequest(
            ORDER_REFUSED if first == "from" else f"'{last}' must be after '{first}'"
        )
    if end - start > MAX_SPAN[interval]:
        raise RangeTooLong(
            f"a range by {interval} is at most {MAX_SPAN[interval].days} days",
            parameter=first,
            max_days=MAX_SPAN[interval].days,
        )
    return start, end


def _limit(args: Mapping[str, str]) -> int:
    raw = args.get("limit") or str(DEFAULT_LIMIT)
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise InvalidRequest(f"limit must be 1 to {MAX_LIMIT}", parameter="limit")
    return int(raw)


def _instant(args: Mapping[str, str], name: str, zone: ZoneInfo) -> datetime | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        written = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        instant = parse_instant(written if written.tzinfo else written.replace(tzinfo=zone))
        year = int(raw.strip()[:4])
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"'{name}' must be an ISO 8601 date or date-time, e.g. 2026-01-31T00:00:00Z",
            parameter=name,
        ) from None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidRequest(
            f"'{name}' must be in the years {FIRST_YEAR} to {LAST_YEAR} (clicks are kept "
            f"from {format_instant(EARLIEST)} to {format_instant(LATEST)})",
            parameter=name,
        )
    return min(max(instant, EARLIEST), LATEST)


@dataclass(frozen=True, slots=True)
class RealtimeRequest:
    """The last 30 minutes (stats_buckets.realtime_range): filters and a limit only."""

    filters: tuple[Filter, ...] = ()
    limit: int = DEFAULT_LIMIT


def parse_realtime_request(args: Mapping[str, str], filters: Iterable[str] = ()) -> RealtimeRequest:
    return RealtimeRequest(parse_filters(filters), _limit(args))
