"""Click limits at the edge: Redis counts, PostgreSQL reserves (domain/click_budget.py).

``spend`` is called for a human click about to be redirected; ``has_left`` for a
bot, a link preview or a HEAD, which are served while clicks are left but spend none.
Redis unreachable: each click is counted in PostgreSQL itself (exact, slower).
PostgreSQL unreachable while a reservation is needed: DatabaseUnavailable (503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Literal, TypeVar

from redis.exceptions import RedisError

from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.postgres_failures import is_connection_failure
from shortlink.adapters.redis_budget import NEEDS_RESERVATION, SPENT, UNKNOWN, ClickBudgets
from shortlink.domain.click_budget import DEFAULT_CHUNK, chunk_size
from shortlink.domain.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

_ATTEMPTS = 200  # x _WAIT: how long a click waits for another pod's reservation
_WAIT = 0.005
_CACHE_ERRORS = (RedisError, OSError)


class ClickLimiter:
    def __init__(
        self,
        budgets: ClickBudgets,
        repo: LinkRepository,
        chunk: int = DEFAULT_CHUNK,
        db_timeout: float = 1.0,
    ) -> None:
        self._budgets = budgets
        self._repo = repo
        self._chunk = chunk
        self._db_timeout = db_timeout

    async def spend(self, code: str, max_clicks: int) -> bool:
        """Count one served click; False when the limit is reached (serve the fallback)."""
        try:
            return await self._spend_in_redis(code, max_clicks)
        except _CACHE_ERRORS as exc:
            log.warning("click budget: Redis unavailable, counted in PostgreSQL", exc_info=exc)
            return await self._db(self._repo.spend_click(code))

    async def has_left(self, code: str, max_clicks: int) -> bool:
        try:
            used = await self._budgets.left(code, max_clicks)
            if used == UNKNOWN:
                return await self._db(self._repo.clicks_reserved(code)) < max_clicks
            return used != SPENT
        except _CACHE_ERRORS:
            return await self._db(self._repo.clicks_reserved(code)) < max_clicks

    async def _spend_in_redis(self, code: str, max_clicks: int) -> bool:
        for _ in range(_ATTEMPTS):
            result = await self._budgets.take(code, max_clicks)
            if result > 0:
                return True
            if result == SPENT:
                return False
            if result == UNKNOWN:
                reserved = await self._db(self._repo.clicks_reserved(code))
                await self._budgets.seed(code, reserved)
            elif result == NEEDS_RESERVATION:
                reservation = await self._reserve(code, max_clicks)
                if reservation == "spent":
                    return False
                if reservation == "busy":
                    await asyncio.sleep(_WAIT)  # another pod is reserving
        raise DatabaseUnavailable("The click budget could not be reserved in time")

    async def _reserve(self, code: str, max_clicks: int) -> Literal["done", "busy", "spent"]:
        """Reserve the next chunk under the per-link lock ("busy": another holds it)."""
        token = await self._budgets.lock(code)
        if token is None:
            return "busy"
        try:
            seen = await self._budgets.ceiling(code)
            if seen is None:
                return "done"  # forgotten meanwhile: take() seeds it again
            chunk = chunk_size(max_clicks, self._chunk)
            reserved, won = await self._db(self._repo.reserve_clicks(code, seen, chunk))
            if won and reserved <= seen:
                return "spent"  # PostgreSQL's max_clicks (maybe just lowered) is reached
            if not won or not await self._budgets.raise_ceiling(code, seen, reserved):
                # PostgreSQL is ahead of this Redis (a failover lost writes, or a pod
                # died between the two): every click it reserved counts as spent.
                await self._budgets.catch_up(code, reserved)
            return "done"
        finally:
            await self._budgets.unlock(code, token)

    async def _db(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._db_timeout):
                return await call
        except Exception as exc:
            if is_connection_failure(exc):
                raise DatabaseUnavailable() from exc
            raise
