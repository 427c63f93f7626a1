"""The base every HTTP component is built on."""

from __future__ import annotations

from sanic import Sanic

from shortlink.config import Settings
from shortlink.http import App
from shortlink.http.errors import install_error_handlers
from shortlink.http.ops import install_ops_routes
from shortlink.wiring import open_backends


def component_app(name: str, settings: Settings) -> App:
    """A Sanic app with JSON errors, /healthz /readyz /metrics, and the shared
    backends opened at server start (``app.ctx.backends``) and closed at stop.
    Listeners the caller adds run after the backends are open."""
    settings.require_secret()
    app: App = Sanic(name, configure_logging=False)
    app.config.PROXIES_COUNT = settings.proxies_count
    app.ctx.settings = settings
    install_error_handlers(app)
    install_ops_routes(
        app,
        lambda app: {
            "postgres": app.ctx.backends.ping_postgres,
            "redis": app.ctx.backends.ping_redis,
        },
    )

    @app.before_server_start
    async def open_connections(app: App) -> None:
        app.ctx.backends = await open_backends(settings)

    @app.after_server_stop
    async def close_connections(app: App) -> None:
        await app.ctx.backends.close()

    return app
