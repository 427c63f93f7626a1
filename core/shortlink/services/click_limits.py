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

from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.postgres_failures import is_connection_failure
from shortlink.adapters.redis_budget import NEEDS_RESERVATION, SPENT, UNKNOWN, ClickBudgets
from shortlink.adapters.redis_failures import RedisFailure
from shortlink.domain.click_budget import (
    DEFAULT_CHUNK,
    chunk_size,
    next_reservation,
    refill_mark,
)
from shortlink.domain.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

_ATTEMPTS = 200  # x _WAIT: how long a click waits for another pod's reservation
_WAIT = 0.005
_CACHE_ERRORS = (RedisFailure, OSError)
_SPENT_REMEMBERED = 10_000


class ClickLimiter:
    def __init__(
        self,
        budgets: ClickBudgets,
        repo: LinkRepository,
        chunk: int = DEFAULT_CHUNK,
        db_timeout: float = 2.0,
    ) -> None:
        self._budgets = budgets
        self._repo = repo
        self._chunk = chunk
        self._db_timeout = db_timeout
        # One reservation in flight per link and process; the other clicks wait for it
        # instead of all asking Redis for the lock.
        self._refills: dict[str, asyncio.Future[bool]] = {}
        # Links whose budget is spent, by (code, max_clicks): a spent budget never
        # comes back unless max_clicks is raised, which is another key.
        self._spent: set[tuple[str, int]] = set()

    async def spend(self, code: str, max_clicks: int) -> bool:
        """Count one served click; False when the limit is reached (serve the fallback)."""
        if (code, max_clicks) in self._spent:
            return False
        try:
            served = await self._spend_in_redis(code, max_clicks)
            if not served:
                self._remember_spent(code, max_clicks)
            return served
        except _CACHE_ERRORS as exc:
            log.warning("click budget: Redis unavailable, counted in PostgreSQL", exc_info=exc)
            return await self._db(self._repo.spend_click(code))

    async def settled(self) -> None:
        """Wait until no reservation is in flight (shutdown, and tests that need the
        budget to stand still)."""
        while self._refills:
            await asyncio.gather(*self._refills.values(), return_exceptions=True)

    def _remember_spent(self, code: str, max_clicks: int) -> None:
        if len(self._spent) >= _SPENT_REMEMBERED:
            self._spent.clear()
        self._spent.add((code, max_clicks))

    async def has_left(self, code: str, max_clicks: int) -> bool:
        if (code, max_clicks) in self._spent:
            return False
        try:
            used = await self._budgets.left(code, max_clicks)
            if used == UNKNOWN:
                return await self._db(self._repo.clicks_reserved(code)) < max_clicks
            return used != SPENT
        except _CACHE_ERRORS:
            return await self._db(self._repo.clicks_reserved(code)) < max_clicks

    async def _spend_in_redis(self, code: str, max_clicks: int) -> bool:
        for _ in range(_ATTEMPTS):
            result, ceiling = await self._budgets.take(code, max_clicks)
            if result > 0:
                if (
                    ceiling - result <= refill_mark(max_clicks, self._chunk)
                    and ceiling < max_clicks
                ):
                    self._prefetch(code, max_clicks)  # the next chunk, before clicks wait for it
                return True
            if result == SPENT:
                return False
            if result == UNKNOWN:
                reserved = await self._db(self._repo.clicks_reserved(code))
                await self._budgets.seed(code, reserved)
            elif result == NEEDS_RESERVATION and not await self._refill(code, max_clicks):
                return False
        raise DatabaseUnavailable("The click budget could not be reserved in time")

    def _refilling(self, code: str, max_clicks: int) -> asyncio.Future[bool]:
        """This process's reservation for ``code`` in flight, started if none is."""
        pending = self._refills.get(code)
        if pending is None:
            pending = asyncio.ensure_future(self._reserve_until_done(code, max_clicks))
            self._refills[code] = pending
            pending.add_done_callback(lambda _: self._refills.pop(code, None))
        return pending

    async def _refill(self, code: str, max_clicks: int) -> bool:
        """Wait for a reservation; False when PostgreSQL says the limit is reached."""
        return await asyncio.shield(self._refilling(code, max_clicks))

    def _prefetch(self, code: str, max_clicks: int) -> None:
        pending = self._refilling(code, max_clicks)
        # Nobody awaits a prefetch: its failure is a click that waits later, not an error.
        pending.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _reserve_until_done(self, code: str, max_clicks: int) -> bool:
        for _ in range(_ATTEMPTS):
            reservation = await self._reserve(code, max_clicks)
            if reservation != "busy":
                return reservation == "done"
            await asyncio.sleep(_WAIT)  # another pod is reserving: then try to take again
            budget = await self._budgets.budget(code)
            if budget is None or budget[1] - budget[0] > refill_mark(max_clicks, self._chunk):
                return True
        raise DatabaseUnavailable("The click budget could not be reserved in time")

    async def _reserve(self, code: str, max_clicks: int) -> Literal["done", "busy", "spent"]:
        """Reserve the next chunk under the per-link lock ("busy": another holds it)."""
        token = await self._budgets.lock(code)
        if token is None:
            return "busy"
        try:
            budget = await self._budgets.budget(code)
            if budget is None:
                return "done"  # forgotten meanwhile: take() seeds it again
            used, seen = budget
            if seen - used > refill_mark(max_clicks, self._chunk):
                return "done"  # another pod reserved meanwhile
            chunk = chunk_size(max_clicks, self._chunk)
            try:
                reserved, won = await self._db(self._repo.reserve_clicks(code, seen, chunk))
            except DatabaseUnavailable:
                # The answer was lost, not necessarily the update: under our lock, a
                # reservation standing exactly where ours would is ours.
                reserved = await self._db(self._repo.clicks_reserved(code))
                won = reserved == next_reservation(seen, max_clicks, self._chunk) != seen
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
