"""A redirect whose handler raises is still counted in shortlink_redirects_total:
outcome "error" for a 500, "unavailable" for a lost connection (503)."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any, cast

import pytest
from prometheus_client import REGISTRY
from sanic import Request, Sanic

from shortlink.domain.links import MISS
from shortlink.http import App
from shortlink.http.errors import install_error_handlers
from shortlink.redirector.app import Redirects, count_redirect_failures

_apps = itertools.count()


class RaisingResolver:
    """Misses L1, then fails the way a bug (or a dropped socket) would."""

    def __init__(self, exc: Exception) -> None:
        self._exc = exc

    def cached(self, code: str) -> object:
        return MISS

    async def resolve(self, code: str) -> Any:
        raise self._exc


def _app() -> App:
    app: App = Sanic(f"test-redirect-errors-{next(_apps)}")
    install_error_handlers(app)
    count_redirect_failures(app)
    return app


def _count(outcome: str, source: str) -> float:
    labels = {"outcome": outcome, "source": source}
    return REGISTRY.get_sample_value("shortlink_redirects_total", labels) or 0.0


async def _serve(app: App, exc: Exception, route: str) -> int:
    handlers = Redirects("s" * 32)
    handlers.attach(cast(Any, RaisingResolver(exc)), *(cast(Any, None),) * 4)
    request = cast(Request, SimpleNamespace(path="/abc1234", headers={}, args={}))
    with pytest.raises(type(exc)) as raised:
        await handlers.redirect(request, "abc1234")
    handler = app.error_handler.lookup(raised.value, f"{app.name}.{route}")
    response = await handler(request, raised.value)
    return int(response.status)


@pytest.mark.parametrize(
    ("exc", "status", "outcome", "source"),
    [
        (RuntimeError("bug"), 500, "error", "none"),
        (ConnectionRefusedError("db gone"), 503, "unavailable", "db"),
    ],
)
def test_a_raising_redirect_is_counted(
    exc: Exception, status: int, outcome: str, source: str
) -> None:
    app = _app()
    before = _count(outcome, source)
    assert asyncio.run(_serve(app, exc, "redirect")) == status
    assert _count(outcome, source) == before + 1


def test_other_routes_errors_are_not_counted_as_redirects() -> None:
    app = _app()
    before = _count("error", "none")
    assert asyncio.run(_serve(app, RuntimeError("bug"), "unlock_form")) == 500
    assert _count("error", "none") == before
