"""Browser sessions, and OpenID sign-ins under way, in Redis: keyed by digests, expiring
with their TTL. Records are stored as given (sealed by the service) and read back as
decoded JSON."""

from __future__ import annotations

from typing import Any

import orjson

from shortlink.adapters.redis_connection import RedisClient
from shortlink.adapters.redis_failures import translated


def _decoded(raw: bytes | str | None) -> object:
    """The JSON value, or None if there is none or it isn't JSON."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


class RecordStore:
    """JSON records under ``prefix`` + a digest, each with its own TTL."""

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    @translated
    async def put(self, digest: str, record: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(self._prefix + digest, orjson.dumps(record), ex=ttl_seconds)

    @translated
    async def get(self, digest: str) -> object:
        return _decoded(await self._redis.get(self._prefix + digest))

    @translated
    async def take(self, digest: str) -> object:
        """The stored value, deleted in the same step (GETDEL): used once."""
        return _decoded(await self._redis.getdel(self._prefix + digest))

    @translated
    async def delete(self, digest: str) -> None:
        await self._redis.delete(self._prefix + digest)


def session_store(redis: RedisClient) -> RecordStore:
    return RecordStore(redis, "session:")


def login_attempt_store(redis: RedisClient) -> RecordStore:
    """OpenID sign-ins under way: the state's digest -> nonce and PKCE verifier."""
    return RecordStore(redis, "oidc-attempt:")
