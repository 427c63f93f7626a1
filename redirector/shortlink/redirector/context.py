"""The redirector's ``app.ctx``: every attribute typed (see shortlink.http.context).
Its handlers keep what they need on the Redirects object (no per-request lookups
here); the context holds what the listeners start and stop."""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

from sanic import Sanic

from shortlink.adapters.redis_connection import RedisClient
from shortlink.adapters.standby_reads import StandbyReads
from shortlink.http.context import ComponentContext


class RedirectorContext(ComponentContext):
    # Set at server start: the invalidation feed (its task and its own connection)
    # and the click budgets' client (a longer timeout than the link cache's).
    feed_task: asyncio.Task[None]
    feed: RedisClient
    budgets: RedisClient
    # Redirect misses' standby reads (DATABASE_READ_URL), None without one.
    standby: StandbyReads | None


RedirectorApp: TypeAlias = Sanic[Any, RedirectorContext]
