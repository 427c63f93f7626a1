"""The click rollups' sweep (issue 23): every few minutes, the closed UTC days not yet
rolled up (or invalidated since: an erasure, a late click) are rolled up from the
per-link daily rows into whole-workspace rows, with each link's workspace as PostgreSQL
has it now, and the closed months into each link's monthly rows
(adapters.clickhouse_rollups). Every API replica may run it: a day rolled twice is
replaced, not doubled. A link's clicks count for the workspace it had when its days
were rolled; one deleted after its days were rolled still counts in those days.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from shortlink.domain.workspace_rollups import RollupWork
from shortlink.services.periodic import PeriodicSweep

SWEEP_EVERY = 600.0  # seconds; a closed day waits up to this long after its grace
Pending = Callable[[float], Awaitable[RollupWork | None]]  # None: no store yet
Roll = Callable[[RollupWork, Sequence[tuple[str, str]]], Awaitable[None]]


class Owners(Protocol):
    async def link_workspaces(self) -> list[tuple[str, str]]: ...


class WorkspaceRollups(PeriodicSweep):
    NAME = "workspace click rollup sweep"

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
        super().__init__(every)

    async def sweep(self) -> int:
        """Roll up the days and months waiting; returns how many."""
        work = await self._pending(self._clock())
        if not work:
            return 0
        # Only days are rolled per workspace: months alone need no owners.
        owners = await self._owners.link_workspaces() if work.days else []
        await self._roll(work, owners)
        return len(work)
