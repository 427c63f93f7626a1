"""Erasure of stored clicks (issue 23, privacy): which clicks a request names.

A range is whole UTC days, ``from`` inclusive and ``to`` exclusive, either open:
the per-day aggregates can't be split, and a range that erased part of a day from
the raw clicks but not from the daily totals would leave the stats lying. A bound
is a date (``2026-01-01``) or an ISO 8601 instant at a UTC midnight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from shortlink.domain.clicks import LATEST_CLICK
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.workspaces import whole_days

DAY = 86_400
_LONGEST_BOUND = 40  # characters: an ISO 8601 instant with an offset fits easily


@dataclass(frozen=True, slots=True)
class ErasureRange:
    start: int | None  # epoch s, a UTC midnight; None: from the first click
    end: int | None  # exclusive; None: to the last

    @property
    def everything(self) -> bool:
        return self.start is None and self.end is None

    def bounds(self) -> tuple[int, int]:
        """``[start, end)`` with the open ends at the limits of what is stored."""
        return (self.start or 0, self.end if self.end is not None else int(LATEST_CLICK))


def parse_erasure_range(args: Mapping[str, str]) -> ErasureRange:
    start = _midnight(args, "from")
    end = _midnight(args, "to")
    if start is not None and end is not None and end <= start:
        raise InvalidRequest("'to' must be after 'from'", parameter="to")
    return ErasureRange(start, end)


def _midnight(args: Mapping[str, str], name: str) -> int | None:
    """None when ``name`` is absent; an empty value is not a date."""
    if name not in args:
        return None
    text = args[name].strip()
    if not text or len(text) > _LONGEST_BOUND:
        raise InvalidRequest(f"'{name}' is not a date", parameter=name)
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"'{name}' is not a date", parameter=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if seconds % DAY:
        raise InvalidRequest(
            f"'{name}' must be a UTC midnight: clicks are erased in whole UTC days",
            parameter=name,
        )
    if not 0 <= seconds < LATEST_CLICK:
        raise InvalidRequest(f"'{name}' must be between 1970 and 2106", parameter=name)
    return int(seconds)


# A workspace's click retention, in days: 0 keeps every click.
MAX_CLICK_RETENTION_DAYS = 36_600


def validate_click_retention(value: object) -> int:
    return whole_days(
        value, "click_retention_days", 0, MAX_CLICK_RETENTION_DAYS, " (keep every click)"
    )


def retention_cutoff(now: float, days: int) -> int:
    """The UTC midnight before which clicks are past a retention of ``days``: today
    and the ``days`` whole days before it are kept."""
    today = int(now) // DAY * DAY
    return today - days * DAY
