"""Click events: what a redirect reports, and the port it reports through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# What a click keeps of its free-form headers: enough to classify a browser and a
# referrer's host, and small enough that a burst of huge headers can't bloat the
# buffer or make a bus record too large to send.
MAX_USER_AGENT_CHARS = 512
MAX_REFERRER_CHARS = 1024


# What every store of clicks can hold: ClickHouse's DateTime is seconds since 1970 in
# a UInt32 (to 2106-02-07), and its aggregates are bucketed by it.
EARLIEST_CLICK = 0.0
LATEST_CLICK = float(2**32 - 1)


def storable_timestamp(value: float) -> bool:
    """Finite and within [1970, 2106): anything else is a malformed click, not a row."""
    return EARLIEST_CLICK <= value < LATEST_CLICK  # False for NaN and ±inf too


# Not frozen, unlike the domain's other values: every redirect builds one, and a frozen
# dataclass sets each of its ten fields through object.__setattr__ (1.45 µs a click
# against 0.55). Nothing changes an event once built.
@dataclass(slots=True)
class ClickEvent:
    event_id: str  # unique per click, so downstream can deduplicate at-least-once delivery
    code: str
    timestamp: float  # epoch seconds
    ip: str
    user_agent: str
    referrer: str
    method: str
    # What served it (issue 22): "" when no rule / no variant set; the link's tags.
    rule_id: str = ""
    variant_id: str = ""
    tags: tuple[str, ...] = ()


class ClickSink(Protocol):
    """Where redirects report clicks. ``emit`` must never block and never raise:
    analytics is worth less than the redirect it describes."""

    def emit(self, event: ClickEvent) -> None: ...


def header_text(value: str, limit: int) -> str:
    """A request header as valid Unicode, at most ``limit`` characters.

    Servers decode header bytes that aren't UTF-8 into lone surrogates
    ("surrogateescape"), which no JSON encoder accepts; those bytes become U+FFFD."""
    clipped = value[:limit]
    if clipped.isascii():
        return clipped
    try:
        raw = clipped.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no byte decoded to
        raw = clipped.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
