"""Browser sessions in Redis, keyed by the session id's digest, expiring with their TTL."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from shortlink.domain.sessions import Session

_PREFIX = "session:"


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def put(self, digest: str, session: Session, ttl_seconds: int) -> None:
        record = {"key_hash": session.key_hash, "csrf": session.csrf_token,
                  "expires_at": session.expires_at}  # fmt: skip
        await self._redis.set(_PREFIX + digest, orjson.dumps(record), ex=ttl_seconds)

    async def get(self, digest: str) -> Session | None:
        raw = await self._redis.get(_PREFIX + digest)
        if raw is None:
            return None
        record = orjson.loads(raw)
        return Session(record["key_hash"], record["csrf"], float(record["expires_at"]))

    async def delete(self, digest: str) -> None:
        await self._redis.delete(_PREFIX + digest)
