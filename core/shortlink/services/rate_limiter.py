"""Per-subject request limits, counted in Redis across all API pods."""

from __future__ import annotations

import logging

from shortlink.adapters.redis_counters import WindowCounter
from shortlink.adapters.redis_failures import RedisFailure
from shortlink.domain.rate_limits import RateDecision, RateLimit, decide
from shortlink.services.clock import Clock, utc_now

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, counter: WindowCounter, rule: RateLimit, clock: Clock = utc_now) -> None:
        self.rule = rule
        self._counter = counter
        self._clock = clock

    async def check(self, subject: str, cost: int = 1) -> RateDecision:
        """Count ``cost`` requests for ``subject``. Fails open: with Redis down, creating
        links is more important than limiting them (the error is logged)."""
        now = self._clock()
        try:
            count, window_left_ms = await self._counter.hit(subject, self.rule.window_seconds, cost)
        except RedisFailure as exc:
            log.warning("rate limiter unavailable, allowing", extra={"error": str(exc)})
            return decide(self.rule, 0, self.rule.window_seconds * 1000, now)
        return decide(self.rule, count, window_left_ms, now)
