"""/healthz, /readyz and /metrics for the components that serve no Sanic app
(the operator and the analytics worker), on aiohttp, which kopf brings anyway.

The operator needs its own rather than kopf's liveness endpoint: a standby
replica waiting for the Lease runs no kopf at all, yet must answer its probes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[object]]


async def passes(check: ReadinessCheck, limit: float) -> bool:
    try:
        await asyncio.wait_for(check(), limit)
    except Exception:  # any failure means "not ready"; the reason is not the prober's business
        return False
    return True


def _no_details() -> dict[str, str]:
    return {}


def probes_app(
    checks: Mapping[str, ReadinessCheck],
    details: Callable[[], Mapping[str, str]] = _no_details,
) -> web.Application:
    """``checks`` are the dependencies /readyz probes (each raises or times out when
    down); ``details`` adds fields to both answers (the operator: leader or standby)."""

    async def healthz(request: web.Request) -> web.Response:
        # Liveness: the event loop answers. Dependencies belong in /readyz.
        return web.json_response({"status": "ok", **details()})

    async def readyz(request: web.Request) -> web.Response:
        results = await asyncio.gather(*(passes(check, 1.0) for check in checks.values()))
        named = dict(zip(checks, results, strict=True))
        ok = all(results)
        return web.json_response(
            {"status": "ready" if ok else "not ready", "checks": named, **details()},
            status=200 if ok else 503,
        )

    async def metrics(request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_probes(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
