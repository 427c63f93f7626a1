"""Rate-limit rules (seed flow 9): parsing "10/minute" and reading a fixed-window counter.

The counter itself lives in Redis (one atomic script per request); this module
only turns (count, time left in window) into a decision and its headers.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from shortlink.domain.errors import InvalidRateLimit

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_PATTERN = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_seconds: int

    def describe(self, noun: str = "requests") -> str:
        """'Max 10 URLs per minute' (the seed's wording)."""
        unit = next((u for u, s in _UNITS.items() if s == self.window_seconds), None)
        per = unit if unit else f"{self.window_seconds} seconds"
        return f"Max {self.limit} {noun} per {per}"


def parse_rate_limit(text: str) -> RateLimit:
    """'10/minute', '100/hour', '5/10seconds'."""
    match = _PATTERN.fullmatch(text)
    if not match:
        raise InvalidRateLimit(f"Cannot parse rate limit '{text}'; expected e.g. '10/minute'")
    count, multiple, unit = match.groups()
    limit = int(count)
    window = int(multiple or 1) * _UNITS[unit.lower()]
    if limit < 1 or window < 1:
        raise InvalidRateLimit(f"Rate limit '{text}' must allow at least one request")
    return RateLimit(limit=limit, window_seconds=window)


def client_network(address: str) -> str:
    """One client, as limits count it: the IPv4 address, or the IPv6 /64 (one
    subscriber's prefix: rotating addresses within it is free)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def rate_limit_subject(owner: str | None, client: str) -> str:
    """Whom a request's work is counted against: the owner of the calling key, so
    every key it mints shares one budget (with workspaces, the workspace), else the
    client's network (anonymous creates)."""
    return f"owner:{owner}" if owner is not None else f"ip:{client_network(client)}"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime
    reset_in: int  # whole seconds until the window resets
    retry_after: int  # reset_in when refused, else 0

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_in),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def decide(rule: RateLimit, count: int, window_left_ms: int, now: datetime) -> RateDecision:
    """``count`` includes the request being decided; ``window_left_ms`` is the counter's TTL."""
    window_left_ms = max(0, min(window_left_ms, rule.window_seconds * 1000))
    reset_in = math.ceil(window_left_ms / 1000)
    allowed = count <= rule.limit
    return RateDecision(
        allowed=allowed,
        limit=rule.limit,
        remaining=max(0, rule.limit - count),
        reset_at=now + timedelta(milliseconds=window_left_ms),
        reset_in=reset_in,
        retry_after=0 if allowed else max(1, reset_in),
    )
