"""`shortlink analytics`: the standalone worker (its own Deployment). Drains
click events from the bus into ClickHouse, with /healthz, /readyz and /metrics
on SHORTLINK_ANALYTICS_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from shortlink.adapters.clickhouse import ClickStore
from shortlink.analytics.runner import IngestRunner
from shortlink.config import ConfigError, Settings
from shortlink.http.ops_metrics import announce_build
from shortlink.http.probes import probes_app, start_probes
from shortlink.http.readiness import Readiness, ReadinessCheck
from shortlink.wiring import click_store, redis_client

log = logging.getLogger(__name__)


def _readiness(runner: IngestRunner, store: ClickStore) -> dict[str, ReadinessCheck]:
    async def clickhouse() -> None:
        await asyncio.to_thread(store.client.command, "SELECT 1")

    async def bus() -> None:
        if not runner.connected or runner.failed:
            raise RuntimeError("the event bus is not connected, or the ingest loop died")

    return {"clickhouse": clickhouse, "bus": bus}


async def run_worker(settings: Settings) -> None:
    store = click_store(settings)
    if store is None:
        raise ConfigError("the analytics worker needs CLICKHOUSE_URL")
    await store.apply_migrations()
    redis = redis_client(settings.redis_url)
    runner = IngestRunner(settings, store, redis)
    announce_build("analytics")
    readiness = Readiness(_readiness(runner, store))  # its job needs both
    readiness.start()
    probes = await start_probes(probes_app(readiness), settings.host, settings.analytics_port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    runner.start()
    log.info("analytics worker started", extra={"port": settings.analytics_port})
    try:
        await stopping.wait()
    finally:
        log.info("analytics worker stopping")
        await runner.stop()
        await probes.cleanup()
        await readiness.stop()
        with contextlib.suppress(Exception):
            await redis.aclose()
        store.close()
