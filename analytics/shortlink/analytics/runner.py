"""Runs the ingest loop as a task: in the analytics worker, or embedded in the
API process when that process owns an in-process ClickHouse (chdb: one process
per data directory)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.redis_connection import RedisClient
from shortlink.analytics import metrics
from shortlink.config import Settings
from shortlink.services.ingest import ClickIngest
from shortlink.wiring import click_events_source, click_ingest

log = logging.getLogger(__name__)

_CONNECT_BACKOFF_MAX = 10.0


class IngestRunner:
    def __init__(self, settings: Settings, store: ClickStore, redis: RedisClient) -> None:
        self._source = click_events_source(settings)
        self.ingest: ClickIngest = click_ingest(
            settings, self._source, store, redis, metrics.LAG_SECONDS.observe
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        metrics.watch(self.ingest)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="click-ingest")

    async def _run(self) -> None:
        backoff = 0.5
        while not self.connected:  # the bus may come up after us
            try:
                await self._source.start()
                self.connected = True
            except Exception as exc:
                log.warning(
                    "event bus unreachable; retrying", extra={"error": repr(exc), "in": backoff}
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _CONNECT_BACKOFF_MAX)
        log.info("click ingest running")
        await self.ingest.run(self._stop)

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the batch in hand (so it is committed), then disconnect."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            except Exception:
                log.exception("click ingest failed")
        with contextlib.suppress(Exception):
            await self._source.stop()

    @property
    def failed(self) -> bool:
        """True if the loop died (a bug): readiness turns false so it gets restarted."""
        return self._task is not None and self._task.done() and not self._stop.is_set()
