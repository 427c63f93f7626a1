"""The whole-workspace click rollups' sweep (issue 23): every few minutes, the closed
UTC days not yet rolled up (or invalidated since: an erasure, a late click) are rolled
up from the per-link daily rows, with each link's workspace as PostgreSQL has it now
(adapters.clickhouse_rollups). Every API replica may run it: a day rolled twice is
replaced, not doubled. A link's clicks count for the workspace it had when its days
were rolled; one deleted after its days were rolled still counts in those days.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

log = logging.getLogger(__name__)

SWEEP_EVERY = 600.0  # seconds; a closed day waits up to this long after its grace
Pending = Callable[[float], Awaitable[Sequence[int] | None]]  # None: no store yet
Roll = Callable[[Sequence[int], Sequence[tuple[str, str]]], Awaitable[None]]


class Owners(Protocol):
    async def link_workspaces(self) -> list[tuple[str, str]]: ...


class WorkspaceRollups:
    def __init__(
        self,
        owners: Owners,
        pending: Pending,
        roll: Roll,
        clock: Callable[[], float] = time.time,
        every: float = SWEEP_EVERY,
    ) -> None:
        self._owners = owners
        self._pending = pending
        self._roll = roll
        self._clock = clock
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Roll up the days waiting; returns how many."""
        days = await self._pending(self._clock())
        if not days:
            return 0
        await self._roll(days, await self._owners.link_workspaces())
        return len(days)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                rolled = await self.sweep()
                if rolled:
                    log.info("workspace click rollups made", extra={"days": rolled})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL or ClickHouse down: the next sweep
                log.warning("workspace rollup sweep failed", extra={"error": repr(exc)})
            await asyncio.sleep(self._every)
