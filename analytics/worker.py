"""`shortlink analytics`: the standalone worker (its own Deployment). Drains
click events from the bus into ClickHouse, with /healthz, /readyz and /metrics
on SHORTLINK_ANALYTICS_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shortlink.adapters.clickhouse import ClickStore
from shortlink.analytics.runner import IngestRunner
from shortlink.config import ConfigError, Settings
from shortlink.wiring import click_store, redis_client

log = logging.getLogger(__name__)


def _ops_app(runner: IngestRunner, store: ClickStore) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(asyncio.to_thread(store.client.command, "SELECT 1"), 2.0)
            clickhouse = True
        except Exception:
            clickhouse = False
        checks = {"clickhouse": clickhouse, "bus": runner.connected and not runner.failed}
        ready = all(checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

    async def metrics(request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def run_worker(settings: Settings) -> None:
    store = click_store(settings)
    if store is None:
        raise ConfigError("the analytics worker needs CLICKHOUSE_URL")
    await store.apply_migrations()
    redis = redis_client(settings.redis_url)
    runner = IngestRunner(settings, store, redis)
    site_runner = web.AppRunner(_ops_app(runner, store), access_log=None)
    await site_runner.setup()
    await web.TCPSite(site_runner, settings.host, settings.analytics_port).start()
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
        await site_runner.cleanup()
        with contextlib.suppress(Exception):
            await redis.aclose()
        store.close()
