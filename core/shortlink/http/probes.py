"""The ops server: /healthz, /readyz and /metrics on a port of their own, the same
for all four components. It runs on aiohttp (which kopf brings anyway) inside
each component's event loop: beside Sanic in the API and the redirector, alone
in the operator and the analytics worker.

The operator needs its own rather than kopf's liveness endpoint: a standby
replica waiting for the Lease runs no kopf at all, yet must answer its probes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shortlink.http.readiness import Readiness


def _no_details() -> dict[str, str]:
    return {}


def probes_app(
    readiness: Readiness, details: Callable[[], Mapping[str, str]] = _no_details
) -> web.Application:
    """``details`` adds fields to both answers (the operator: leader or standby)."""

    async def healthz(request: web.Request) -> web.Response:
        # Liveness: the event loop answers. Dependencies belong in /readyz, or an
        # outage would make Kubernetes restart every healthy pod.
        return web.json_response({"status": "ok", **details()})

    async def readyz(request: web.Request) -> web.Response:
        ready, checks = await readiness.probe()
        problems = {"problems": readiness.problems} if readiness.problems else {}
        return web.json_response(
            {
                "status": "ready" if ready else "not ready",
                "checks": checks,
                **problems,
                **details(),
            },
            status=200 if ready else 503,
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


async def start_probes(
    app: web.Application, host: str, port: int, *, shared: bool = False
) -> web.AppRunner:
    """``shared``: several processes of one component (SHORTLINK_WORKERS > 1) bind
    the same port (SO_REUSEPORT); each connection then reaches one of them."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_port=shared or None).start()
    return runner
