"""Code → destination for the redirector: in-process cache, then Redis, then PostgreSQL."""

from __future__ import annotations

import asyncio
import logging

from shortlink.adapters.local_cache import LocalCache
from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.postgres_failures import is_connection_failure
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.redis_failures import RedisFailure
from shortlink.adapters.standby_reads import StandbyReads
from shortlink.domain.errors import DatabaseUnavailable
from shortlink.domain.links import MISS, Destination, Link, destination_of

log = logging.getLogger(__name__)


class LinkResolver:
    """``db_timeout`` bounds the PostgreSQL lookup of a code no cache holds: past
    it, or on a connection failure, the code is unservable for now
    (DatabaseUnavailable), answered at once rather than held while a database
    is down or failing over."""

    def __init__(
        self,
        local: LocalCache,
        cache: LinkCache,
        repo: LinkRepository,
        db_timeout: float = 1.0,
        standby: StandbyReads | None = None,
    ) -> None:
        """``standby``: misses are read there first (within its staleness bound)."""
        self.local = local
        self._cache = cache
        self._repo = repo
        self._db_timeout = db_timeout
        self._standby = standby
        self.redis_errors = 0
        self.standby_reads = 0  # misses a standby answered

    def cached(self, code: str) -> Destination | object | None:
        """The in-process answer, or MISS; synchronous, so a hit costs no coroutine."""
        return self.local.get(code)

    async def resolve(self, code: str) -> tuple[Destination | None, str]:
        """(destination or None if unservable, which tier answered: local|redis|db)."""
        found = self.local.get(code)
        if found is not MISS:
            return found, "local"  # type: ignore[return-value]
        generation = self.local.generation
        standby_reads = self.standby_reads
        destination, tier = await self._resolve_shared(code)
        # A standby's answer may predate an edit whose invalidation already came:
        # not kept here (the Redis fill is fenced against it; see standby_reads).
        if self.standby_reads == standby_reads:
            self.local.put(code, destination, generation)
        return destination, tier

    async def _resolve_shared(self, code: str) -> tuple[Destination | None, str]:
        try:
            cached = await self._cache.get(code)
        except RedisFailure as exc:
            # Redis is an accelerator, not a dependency: serve from PostgreSQL.
            self.redis_errors += 1
            log.warning("cache read failed", extra={"error": str(exc)})
            cached = MISS
        if cached is not MISS:
            return cached, "redis"  # type: ignore[return-value]
        link = await self._lookup(code)
        destination = destination_of(link) if link is not None else None
        try:
            await self._cache.fill(code, destination)
        except RedisFailure:
            self.redis_errors += 1
        return destination, "db"

    async def _lookup(self, code: str) -> Link | None:
        if self._standby is not None:
            link = await self._standby_lookup(self._standby, code)
            if link is not None:
                self.standby_reads += 1
                return link
        try:
            async with asyncio.timeout(self._db_timeout):
                return await self._repo.get(code)
        except Exception as exc:
            if is_connection_failure(exc):  # the timeout included
                raise DatabaseUnavailable() from exc
            raise

    async def _standby_lookup(self, standby: StandbyReads, code: str) -> Link | None:
        """None: not there (perhaps too new for it), behind its bound, or failing;
        the primary is asked then. Half the budget, so the primary still gets its turn."""
        try:
            async with asyncio.timeout(self._db_timeout / 2):
                return await standby.link(code)
        except Exception as exc:
            log.debug("standby read skipped", extra={"error": str(exc)})
            return None
