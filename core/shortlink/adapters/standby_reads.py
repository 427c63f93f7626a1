"""Link lookups on PostgreSQL standbys (DATABASE_READ_URL), within a staleness bound.

A lookup first reads the standby's replay position, then the row (a later snapshot,
so the row is at least that fresh); WalSamples says how old that position is by the
primary's clock of WAL positions, sampled here every ``sample_every`` seconds. Past
the bound the standby is not asked for the row at all: the caller reads the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable

import asyncpg

from shortlink.adapters.postgres import Executor, LinkRepository
from shortlink.domain.links import Link
from shortlink.domain.standby_staleness import WalSamples

log = logging.getLogger(__name__)

_REPLAYED = "SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint"
_CURRENT = "SELECT (pg_current_wal_lsn() - '0/0')::bigint"


class StandbyBehind(Exception):
    """The read standby is further behind the primary than the bound."""


class StandbyReads:
    def __init__(
        self,
        standby: asyncpg.Pool,
        primary: asyncpg.Pool,
        max_lag: float,
        *,
        sample_every: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._standby = standby
        self._primary = primary
        self.max_lag = max_lag
        self._sample_every = sample_every
        self._clock = clock
        # Twice the bound: a standby just past it is still measured (and reported).
        self._samples = WalSamples(keep=2 * max_lag)
        self._task: asyncio.Task[None] | None = None
        self.lag = math.inf  # as last measured by a lookup or a check

    @classmethod
    async def open(
        cls, url: str, primary: asyncpg.Pool, max_lag: float, *, max_size: int = 10
    ) -> StandbyReads:
        # No connection at start: a standby that is down must not keep the redirector down.
        standby = await asyncpg.create_pool(url, min_size=0, max_size=max_size, timeout=2.0)
        return cls(standby, primary, max_lag)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample_forever(), name="wal-samples")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._standby.close()

    async def _sample_forever(self) -> None:
        while True:
            asked = self._clock()
            try:
                self._samples.add(asked, await self._primary.fetchval(_CURRENT))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # No samples, no vouching: standby answers age out past the bound.
                log.debug("primary WAL position unavailable", extra={"error": str(exc)})
            await asyncio.sleep(self._sample_every)

    async def link(self, code: str) -> Link | None:
        """The live link as a standby within the bound has it; None when it has no
        such link (it may be too new for the standby: ask the primary).
        StandbyBehind past the bound."""
        async with self._standby.acquire() as connection:
            await self._measure(connection)
            return await LinkRepository(connection).get(code)

    async def check(self) -> None:
        """Readiness: StandbyBehind, on one line, while reads go to the primary."""
        async with self._standby.acquire() as connection:
            await self._measure(connection)

    async def _measure(self, connection: Executor) -> None:
        self.lag = self._samples.staleness(await connection.fetchval(_REPLAYED), self._clock())
        if self.lag > self.max_lag:
            behind = "an unknown time" if math.isinf(self.lag) else f"{self.lag:.1f} s"
            raise StandbyBehind(
                f"read standby is {behind} behind the primary (bound {self.max_lag:g} s, "
                "SHORTLINK_READ_MAX_LAG): redirect misses read the primary"
            )
