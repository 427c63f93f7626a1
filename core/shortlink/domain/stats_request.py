"""The query of a stats request: ``from``, ``to`` and ``interval``, with defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shortlink.domain.clicks import EARLIEST_CLICK, LATEST_CLICK
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.expiry import format_instant, parse_instant

DEFAULT_SPAN = {"day": timedelta(days=30), "hour": timedelta(hours=48)}
# The longest range answered (3,660 daily or 744 hourly buckets): an earlier
# ``from`` is moved up to it, so no request can ask for millions of buckets.
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


@dataclass(frozen=True, slots=True)
class StatsRequest:
    start: datetime
    end: datetime
    interval: str


def parse_stats_request(args: Mapping[str, str], now: datetime) -> StatsRequest:
    """``to`` defaults to now, ``from`` to 30 days (48 hours by hour) before ``to``.
    Both take an ISO 8601 date or date-time (UTC when no offset is given)."""
    interval = args.get("interval") or "day"
    if interval not in DEFAULT_SPAN:
        raise InvalidRequest("interval must be 'day' or 'hour'", interval=interval)
    end = _instant(args, "to") or now
    # A default 'from' before 1970 starts there; one given is checked like 'to'.
    start = _instant(args, "from") or max(end - DEFAULT_SPAN[interval], EARLIEST)
    if end <= start:
        raise InvalidRequest(ORDER_REFUSED)
    return StatsRequest(max(start, end - MAX_SPAN[interval]), end, interval)


def _instant(args: Mapping[str, str], name: str) -> datetime | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        instant = parse_instant(raw)
        year = int(raw.strip()[:4])
    except ValueError:
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
