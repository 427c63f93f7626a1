"""Redis fixed-window counters: rate limits and failed-unlock tracking.

One script per hit, so concurrent pods can't read-then-write past the limit.
"""

from __future__ import annotations

from shortlink.adapters.redis_connection import RedisClient
from shortlink.adapters.redis_failures import translated

_HIT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class WindowCounter:
    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    @translated
    async def hit(self, key: str, window_seconds: int, amount: int = 1) -> tuple[int, int]:
        """Count ``amount`` events; returns (events in this window, ms until it resets)."""
        count, ttl = await self._hit(
            keys=[self._prefix + key], args=[window_seconds * 1000, amount]
        )
        return int(count), int(ttl)

    @translated
    async def peek(self, key: str) -> tuple[int, int]:
        """(events in the current window, ms until it resets) without counting."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._prefix + key)
        pipe.pttl(self._prefix + key)
        raw, ttl = await pipe.execute()
        return (int(raw), max(0, int(ttl))) if raw is not None else (0, 0)

    @translated
    async def clear(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)
