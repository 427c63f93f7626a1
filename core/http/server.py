"""Running one Sanic component from the CLI."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from shortlink.config import Settings
from shortlink.http import App

AppFactory = Callable[[Settings], App]


def serve(factory: AppFactory, settings: Settings, port: int) -> None:
    """Serve one component. One worker (the Kubernetes way: scale with pods) runs
    in this process; more workers are spawned processes that rebuild the app."""
    loader = AppLoader(factory=partial(factory, settings))
    app = loader.load()
    single = settings.workers == 1
    app.prepare(
        host=settings.host,
        port=port,
        workers=settings.workers,
        single_process=single,
        access_log=False,
        motd=False,
    )
    if single:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)
