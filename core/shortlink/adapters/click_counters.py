"""Hot click counters in Redis: all-time human clicks of viral links, readable
without ClickHouse. Only links past a threshold get a counter (a key per link
for every link ever clicked would cost Redis memory for little use)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from shortlink.adapters.redis_connection import RedisClient, same_slot_groups

HOT_THRESHOLD = 1000
_PREFIX = "clicks:"

# Adds to the counters that exist (hot links); returns the codes that have none.
_ADD_TO_HOT = """
local cold = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('INCRBY', key, ARGV[i])
  else
    table.insert(cold, i)
  end
end
return cold
"""


class ClickCounters:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._add = redis.register_script(_ADD_TO_HOT)

    async def add(self, clicks: Mapping[str, int]) -> set[str]:
        """Count clicks of hot links; returns the codes that are not hot (yet)."""
        codes = list(clicks)
        keys = [_PREFIX + c for c in codes]
        # One script call per hash slot in a Redis Cluster (a script's keys share one).
        groups = same_slot_groups(self._redis, keys)
        colds = await asyncio.gather(
            *(
                self._add(keys=[keys[i] for i in group], args=[clicks[codes[i]] for i in group])
                for group in groups
            )
        )
        return {
            codes[group[int(i) - 1]]
            for group, cold in zip(groups, colds, strict=True)
            for i in cold
        }

    async def promote(self, totals: Mapping[str, int]) -> None:
        """Start counters for links that just became hot, from their stored totals."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for code, total in totals.items():
                pipe.set(_PREFIX + code, total, nx=True)
            await pipe.execute()

    async def total(self, code: str) -> int | None:
        raw = await self._redis.get(_PREFIX + code)
        return None if raw is None else int(raw)
