"""Redis failures as an exception of ours: the Redis adapters raise RedisFailure
instead of redis' own errors, so the services that ride out an outage (serve from
PostgreSQL, fail open) handle it without importing redis."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from redis.exceptions import RedisError

P = ParamSpec("P")
T = TypeVar("T")


class RedisFailure(Exception):
    """Redis did not do what was asked: unreachable, timed out, or refused it."""


def translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """``method``, raising RedisFailure (caused by the original) for any RedisError."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except RedisError as exc:
            raise RedisFailure(str(exc)) from exc

    return call
