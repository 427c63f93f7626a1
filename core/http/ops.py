"""/healthz, /readyz and /metrics, identical on every HTTP component."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sanic import Request
from sanic.response import HTTPResponse, json, raw

from shortlink.http import App
from shortlink.http.probes import ReadinessCheck, passes


def install_ops_routes(
    app: App, checks: Callable[[App], Mapping[str, ReadinessCheck]], timeout: float = 1.0
) -> None:
    """``checks(app)`` names the dependencies /readyz probes (built after startup)."""

    @app.get("/healthz", name="healthz")
    async def healthz(request: Request) -> HTTPResponse:
        # Liveness: the event loop answers. Dependencies belong in /readyz, or a
        # database outage would make Kubernetes restart every healthy pod.
        return json({"status": "ok"})

    @app.get("/readyz", name="readyz")
    async def readyz(request: Request) -> HTTPResponse:
        named = checks(request.app)
        results = await asyncio.gather(*(passes(c, timeout) for c in named.values()))
        status = dict(zip(named, results, strict=True))
        ready = all(results)
        return json(
            {"status": "ready" if ready else "not ready", "checks": status},
            status=200 if ready else 503,
        )

    @app.get("/metrics", name="metrics")
    async def metrics(request: Request) -> HTTPResponse:
        return raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)
