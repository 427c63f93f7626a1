"""Browser sessions in Redis, keyed by the session id's digest, expiring with their TTL.
Records are stored as given (sealed by the service) and read back as decoded JSON."""

from __future__ import annotations

from typing import Any

import orjson

from shortlink.adapters.redis_connection import RedisClient
from shortlink.adapters.redis_failures import translated

_PREFIX = "session:"


class SessionStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    @translated
    async def put(self, digest: str, record: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(_PREFIX + digest, orjson.dumps(record), ex=ttl_seconds)

    @translated
    async def get(self, digest: str) -> object:
        """The stored JSON value, or None if there is none or it isn't JSON."""
        raw = await self._redis.get(_PREFIX + digest)
        if raw is None:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None

    @translated
    async def delete(self, digest: str) -> None:
        await self._redis.delete(_PREFIX + digest)
