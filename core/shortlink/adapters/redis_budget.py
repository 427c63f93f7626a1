"""Click budgets of limited links in Redis: one hash per link (``used``, ``ceiling``),
checked and counted by one script per click (see domain/click_budget.py)."""

from __future__ import annotations

import secrets
from typing import Final

from shortlink.adapters.redis_connection import RedisClient
from shortlink.adapters.redis_failures import translated

_PREFIX: Final = "budget:"
_LOCK_PREFIX: Final = "budget-lock:"
LOCK_MS: Final = 2000  # longer than a reservation's PostgreSQL round trip can sensibly take

# Results of TAKE besides the new count (> 0).
UNKNOWN: Final = -1  # no budget in Redis: seed it from PostgreSQL
NEEDS_RESERVATION: Final = -2  # the reserved clicks are spent: reserve more
SPENT: Final = -3  # max_clicks reached

_TAKE = """
local budget = redis.call('HMGET', KEYS[1], 'used', 'ceiling')
if not budget[2] then return -1 end
local used, ceiling = tonumber(budget[1]), tonumber(budget[2])
if used >= tonumber(ARGV[1]) then return -3 end
if used >= ceiling then return -2 end
return {redis.call('HINCRBY', KEYS[1], 'used', 1), ceiling}
"""
_LEFT = """
local budget = redis.call('HMGET', KEYS[1], 'used', 'ceiling')
if not budget[2] then return -1 end
if tonumber(budget[1]) >= tonumber(ARGV[1]) then return -3 end
return tonumber(budget[1])
"""
# Seed an absent budget with every reserved click counted as spent.
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'used', ARGV[1], 'ceiling', ARGV[1])
return 1
"""
# Raise the ceiling from what PostgreSQL's compare-and-set saw; anything else means
# this Redis is not the one the reservation was made against: catch up instead.
_RAISE = """
if tonumber(redis.call('HGET', KEYS[1], 'ceiling')) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'ceiling', ARGV[2])
return 1
"""
# PostgreSQL has reserved more than this Redis knows of (a failover lost writes, or a
# reserving pod died): count all of it as spent.
_CATCH_UP = """
local budget = redis.call('HMGET', KEYS[1], 'used', 'ceiling')
local reserved = tonumber(ARGV[1])
local used = math.max(tonumber(budget[1] or reserved), reserved)
local ceiling = math.max(tonumber(budget[2] or reserved), reserved)
redis.call('HSET', KEYS[1], 'used', used, 'ceiling', ceiling)
return ceiling
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ClickBudgets:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._left = redis.register_script(_LEFT)
        self._seed = redis.register_script(_SEED)
        self._raise = redis.register_script(_RAISE)
        self._catch_up = redis.register_script(_CATCH_UP)
        self._unlock = redis.register_script(_UNLOCK)

    @translated
    async def take(self, code: str, max_clicks: int) -> tuple[int, int]:
        """Spend one click: (clicks now used, ceiling), or (UNKNOWN/NEEDS_RESERVATION/SPENT, 0)."""
        result = await self._take(keys=[_PREFIX + code], args=[max_clicks])
        if isinstance(result, list):
            return int(result[0]), int(result[1])
        return int(result), 0

    @translated
    async def left(self, code: str, max_clicks: int) -> int:
        """Clicks used without spending one (>= 0), or UNKNOWN/SPENT."""
        return int(await self._left(keys=[_PREFIX + code], args=[max_clicks]))

    @translated
    async def budget(self, code: str) -> tuple[int, int] | None:
        """(used, ceiling), or None when Redis holds no budget for ``code``."""
        used, ceiling = await self._redis.hmget(_PREFIX + code, ["used", "ceiling"])
        if used is None or ceiling is None:
            return None
        return int(used), int(ceiling)

    @translated
    async def seed(self, code: str, reserved: int) -> None:
        await self._seed(keys=[_PREFIX + code], args=[reserved])

    @translated
    async def raise_ceiling(self, code: str, seen: int, reserved: int) -> bool:
        return bool(await self._raise(keys=[_PREFIX + code], args=[seen, reserved]))

    @translated
    async def catch_up(self, code: str, reserved: int) -> None:
        await self._catch_up(keys=[_PREFIX + code], args=[reserved])

    @translated
    async def lock(self, code: str) -> str | None:
        """A token if this caller may reserve for ``code`` now, else None."""
        token = secrets.token_hex(8)
        taken = await self._redis.set(_LOCK_PREFIX + code, token, nx=True, px=LOCK_MS)
        return token if taken else None

    @translated
    async def unlock(self, code: str, token: str) -> None:
        await self._unlock(keys=[_LOCK_PREFIX + code], args=[token])

    @translated
    async def forget(self, code: str) -> None:
        await self._redis.delete(_PREFIX + code)
