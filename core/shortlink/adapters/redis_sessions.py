"""Browser sessions, and OpenID sign-ins under way, in Redis: keyed by digests, expiring
with their TTL. Records are stored as given (sealed by the service) and read back as
decoded JSON."""

from __future__ import annotations

from typing import Any

import orjson

from shortlink.adapters.redis_connection import RedisClient
from shortlink.adapters.redis_failures import translated

_PREFIX = "session:"
_ATTEMPT_PREFIX = "oidc-attempt:"


def _decoded(raw: bytes | str | None) -> object:
    """The JSON value, or None if there is none or it isn't JSON."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


class SessionStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    @translated
    async def put(self, digest: str, record: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(_PREFIX + digest, orjson.dumps(record), ex=ttl_seconds)

    @translated
    async def get(self, digest: str) -> object:
        return _decoded(await self._redis.get(_PREFIX + digest))

    @translated
    async def delete(self, digest: str) -> None:
        await self._redis.delete(_PREFIX + digest)


class LoginAttemptStore:
    """OpenID sign-ins under way: the state's digest -> nonce and PKCE verifier."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    @translated
    async def put(self, digest: str, record: dict[str, Any], ttl_seconds: int) -> None:
        await self._redis.set(_ATTEMPT_PREFIX + digest, orjson.dumps(record), ex=ttl_seconds)

    @translated
    async def take(self, digest: str) -> object:
        """The stored value, deleted in the same step (GETDEL): a second callback
        with the same state finds nothing."""
        return _decoded(await self._redis.getdel(_ATTEMPT_PREFIX + digest))
