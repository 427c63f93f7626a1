"""Link expiry (seed flow 7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shortlink.domain.errors import InvalidExpiry

# The instants a query parameter may name (audit and stats ranges), as the OpenAPI
# document states them: years 1000-9899, days 01-28 of a month (always a real date).
MONTH_DAY = r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
_ANY_DATE = rf"(?:1[0-9]|[2-8][0-9]|9[0-8])[0-9]{{2}}{MONTH_DAY}"
CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{3}|\.[0-9]{6})?)?"
UTC_OFFSET = r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])"
QUERY_INSTANT = re.compile(rf"{_ANY_DATE}(?:T{CLOCK}{UTC_OFFSET}?)?")


class _OutOfRange(ValueError):
    pass


def parse_instant(value: str | datetime) -> datetime:
    """An ISO 8601 date or date-time as a UTC instant; no offset means UTC.
    Raises ValueError if unparseable or outside the representable range."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-01:00 is past the last representable UTC day
        raise _OutOfRange("out of range") from None


def parse_expiry(value: object, now: datetime) -> datetime | None:
    """ISO 8601 instant in the future, or None. A value without offset is taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str | datetime):
        raise InvalidExpiry("expires_at must be a string")
    try:
        moment = parse_instant(value)
    except _OutOfRange:
        raise InvalidExpiry("expires_at is too far in the future") from None
    except ValueError:
        raise InvalidExpiry(
            "expires_at must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z"
        ) from None
    if moment <= now:
        raise InvalidExpiry("expires_at must be in the future", expires_at=moment.isoformat())
    return moment


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def format_instant(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as every JSON body shows instants."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
