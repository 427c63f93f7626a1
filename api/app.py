"""The API app: wiring, auth'd /v1 routes, ops endpoints, request metrics."""

from __future__ import annotations

import time

from sanic import Request, Sanic
from sanic.response import BaseHTTPResponse, HTTPResponse

from shortlink.adapters.redis_counters import WindowCounter
from shortlink.api import metrics
from shortlink.api.openapi import build_openapi
from shortlink.api.routes import v1
from shortlink.config import Settings
from shortlink.http import App
from shortlink.http.errors import install_error_handlers
from shortlink.http.ops import install_ops_routes
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.rate_limiter import RateLimiter
from shortlink.wiring import link_service, open_backends


def create_app(settings: Settings) -> App:
    settings.require_secret()
    app = Sanic("shortlink-api", configure_logging=False)
    app.config.PROXIES_COUNT = settings.proxies_count
    app.config.REQUEST_MAX_SIZE = 4 * 1024 * 1024  # a 1000-item bulk body fits easily
    app.ctx.settings = settings
    app.ctx.openapi = build_openapi()
    install_error_handlers(app)
    install_ops_routes(
        app,
        lambda app: {
            "postgres": app.ctx.backends.ping_postgres,
            "redis": app.ctx.backends.ping_redis,
        },
    )
    app.blueprint(v1)

    @app.before_server_start
    async def start(app: App) -> None:
        backends = await open_backends(settings)
        app.ctx.backends = backends
        app.ctx.links = link_service(backends, settings)
        app.ctx.api_keys = ApiKeyService(backends.api_keys)
        app.ctx.rate_limiter = RateLimiter(
            WindowCounter(backends.redis, "rate:create:"), settings.rate_limit
        )
        await app.ctx.api_keys.bootstrap(settings.initial_api_key)

    @app.after_server_stop
    async def stop(app: App) -> None:
        await app.ctx.backends.close()

    @app.on_request
    async def start_timer(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    async def observe(request: Request, response: BaseHTTPResponse) -> HTTPResponse | None:
        route = request.route.name.removeprefix(f"{app.name}.") if request.route else "unmatched"
        metrics.REQUESTS.labels(route, str(response.status)).inc()
        started = getattr(request.ctx, "started", None)
        if started is not None:
            metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
        return None

    app.register_middleware(observe, "response")

    return app
