"""Running one Sanic component from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sanic import Sanic
from sanic.server.socket import bind_socket
from sanic.worker.loader import AppLoader

from shortlink.config import Settings
from shortlink.http import App
from shortlink.http.context import ComponentContext
from shortlink.http.drain import DrainingProtocol

AppFactory = Callable[[Settings], App]


def serve(factory: AppFactory, settings: Settings, port: int) -> None:
    """Serve one component. One worker (the Kubernetes way: scale with pods) runs
    in this process; more workers are spawned processes that rebuild the app."""
    loader = AppLoader(factory=partial(factory, settings))
    app = loader.load()
    single = settings.workers == 1
    # Bound here so the SIGTERM drain (drain.py) can refuse new connections on it;
    # with several workers it is shared, and one worker's drain must not do that.
    listener = bind_socket(settings.host, port) if single else None
    context: ComponentContext = app.ctx
    context.listener = listener
    app.prepare(
        host=settings.host,
        port=port,
        sock=listener,
        workers=settings.workers,
        single_process=single,
        access_log=False,
        protocol=DrainingProtocol,  # with limits.apply_limits' drain
        motd=False,
    )
    if single:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)
