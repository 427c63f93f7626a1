"""A sweep run in the background every few seconds until stopped. A sweep that fails
(PostgreSQL or ClickHouse down) is logged and the next one tried: the API keeps
serving, and every replica may sweep since each sweep is idempotent."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sized

log = logging.getLogger(__name__)


class BackgroundLoop(ABC):
    """``_run`` as a task from ``start`` until ``stop`` cancels it."""

    _task: asyncio.Task[None] | None = None

    @abstractmethod
    async def _run(self) -> None: ...

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class PeriodicSweep(BackgroundLoop):
    NAME = "sweep"  # in the log lines: "<NAME> done" / "<NAME> failed"

    def __init__(self, every: float) -> None:
        self._every = every

    @abstractmethod
    async def sweep(self) -> int | Sized:
        """One sweep; how much it did, or what (nothing: not logged)."""

    async def _run(self) -> None:
        while True:
            try:
                done = await self.sweep()
                count = done if isinstance(done, int) else len(done)
                if count:
                    log.info(f"{self.NAME} done", extra={"count": count})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store down: the next sweep
                log.warning(f"{self.NAME} failed", extra={"error": repr(exc)})
            await asyncio.sleep(self._every)
