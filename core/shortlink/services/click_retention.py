"""Per-workspace click retention (issue 23, privacy): every few hours, each workspace
with ``click_retention_days`` has its clicks older than that many whole UTC days
erased from ClickHouse (the same erasure as the API's, adapters.clickhouse_erasure).

Why a sweep and not a ClickHouse TTL: a TTL is an expression over the row, and a
click row carries its link's code, not its workspace (a link's workspace lives in
PostgreSQL), so a per-workspace TTL has nothing to read. The sweep is idempotent:
every API replica may run it; a replica that runs it when nothing is past retention
costs one key-bounded DELETE per table per workspace.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from shortlink.domain.click_erasure import ErasureRange, retention_cutoff
from shortlink.services.periodic import PeriodicSweep

SWEEP_EVERY = 6 * 3600.0  # seconds; retention is counted in whole days
Erase = Callable[[Sequence[str], ErasureRange], Awaitable[bool]]  # False: no store yet


class Retentions(Protocol):
    async def click_retentions(self) -> dict[str, int]: ...


class Codes(Protocol):
    async def codes_of(self, owner: str) -> list[str]: ...


class ClickRetention(PeriodicSweep):
    NAME = "click retention sweep"

    def __init__(
        self,
        workspaces: Retentions,
        links: Codes,
        erase: Erase,
        clock: Callable[[], float] = time.time,
        every: float = SWEEP_EVERY,
    ) -> None:
        self._workspaces = workspaces
        self._links = links
        self._erase = erase
        self._clock = clock
        super().__init__(every)

    async def sweep(self) -> dict[str, int]:
        """Erase what is past each workspace's retention; returns slug -> the UTC
        midnight before which its clicks are now gone."""
        done: dict[str, int] = {}
        now = self._clock()
        for slug, days in sorted((await self._workspaces.click_retentions()).items()):
            cutoff = retention_cutoff(now, days)
            codes = await self._links.codes_of(slug)
            if codes and not await self._erase(codes, ErasureRange(None, cutoff)):
                break  # no ClickHouse (yet): the next sweep
            done[slug] = cutoff
        return done
