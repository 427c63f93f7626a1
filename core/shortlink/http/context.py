"""``app.ctx`` of the HTTP components, typed: each component's context class names
every attribute it keeps, so mypy checks each use (Sanic's default is a
SimpleNamespace, every attribute Any). Attributes declared without a value are
set by a listener at server start, before the first request."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from aiohttp import web
from sanic import Request, Sanic

from shortlink.config import Settings
from shortlink.http.readiness import Readiness, ReadinessCheck
from shortlink.wiring import Backends


class ComponentContext:
    """What every component keeps (http/component.py, drain.py, server.py)."""

    settings: Settings
    backends: Backends
    checks: dict[str, ReadinessCheck]
    readiness: Readiness
    ops: web.AppRunner  # the ops port: /healthz, /readyz, /metrics
    # The SIGTERM drain: when it began (inf: not yet), the open connections (Sanic's
    # HttpProtocol objects), the public listening socket if this process owns it.
    draining_since: float
    connections: set[Any]
    listener: socket.socket | None
    drain: asyncio.Task[None]
    # The longest path and query answered (limits.apply_limits); past it 414, checked
    # as the request line is read (wire.StrictHttp), not by a middleware per route.
    url_bytes: int = 4096
    # A synchronous look at each request as its header is read (wire.StrictHttp), for
    # what needs no answer of its own (proxies.warn_if_behind_untrusted_proxy); None: none.
    inspect_request: Callable[[Request[Any, Any]], None] | None = None

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


Context = TypeVar("Context", bound=ComponentContext)
# A component's app, for code that works on any of them (the config stays untyped).
ComponentApp: TypeAlias = Sanic[Any, Context]
