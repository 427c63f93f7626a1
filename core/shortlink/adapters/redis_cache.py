"""Redis adapter for the shared link cache (seed flows 2/3) and its invalidation feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from shortlink.adapters.redis_connection import RedisClient, shard_replicas
from shortlink.adapters.redis_failures import translated
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import options_document
from shortlink.domain.links import MISS, Destination
from shortlink.domain.urls import UrlPolicy

log = logging.getLogger(__name__)

INVALIDATION_CHANNEL: Final = "shortlink:invalidate"
_NEGATIVE: Final = b"0"  # "no such servable code", cached briefly
# A reader fills the cache only if no writer changed the code in the last
# FENCE_SECONDS: otherwise a read from before the change could be written back
# after it. A read can take up to the database's command timeout (10 s), so the
# fence lasts longer than that.
FENCE_SECONDS: Final = 15
_FENCED_FILL = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')
return 1
"""


def _key(code: str) -> str:
    return f"short:{code}"


def _fence_key(code: str) -> str:
    """Hash-tagged by the entry's own key: in a Redis Cluster both are in one slot,
    as the fill script (which reads one and writes the other) needs, and entries
    keep the key they always had (pods of the last release still find them)."""
    return "short-fence:{" + _key(code) + "}"


def encode(destination: Destination | None) -> bytes:
    if destination is None:
        return _NEGATIVE
    fields: list[object] = [
        destination.target,
        destination.redirect_type,
        destination.expires_at,
        destination.password_fingerprint,
    ]
    if destination.routing is not None or destination.tags:
        routing = destination.routing
        fields += [options_document(routing) if routing else None, list(destination.tags)]
    return orjson.dumps(fields)


def decode(raw: bytes) -> Destination | None:
    """An entry written by ``encode`` (a plain link's has four fields: entries of
    links without options stay as small as before)."""
    if raw == _NEGATIVE:
        return None
    target, redirect_type, expires_at, fingerprint, *extra = orjson.loads(raw)
    if not extra:
        return Destination(target, redirect_type, expires_at, fingerprint)
    document, tags = extra
    # Validated when the link was written: decoded without today's URL policy.
    routing = parse_link_options(document, UrlPolicy()) if document else None
    return Destination(target, redirect_type, expires_at, fingerprint, routing, tuple(tags))


# How long an invalidation waits for a replica to confirm it (replicated setups).
REPLICA_WAIT_MS: Final = 300


class LinkCache:
    def __init__(self, redis: RedisClient, ttl: int, negative_ttl: int, replicas: int = 0) -> None:
        """``replicas``: invalidations count only once that many replicas have them
        (WAIT): replication is asynchronous, and an invalidation only the master held
        would be lost with it, leaving the promoted replica serving the old link."""
        self._redis = redis
        self._replicas = replicas
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._fill = redis.register_script(_FENCED_FILL)

    def _ttl_for(self, destination: Destination | None) -> int:
        return self._ttl if destination is not None else self._negative_ttl

    @translated
    async def get(self, code: str) -> Destination | object | None:
        """A Destination, None (known unservable), or MISS."""
        raw = await self._redis.get(_key(code))
        if raw is None:
            return MISS
        return decode(raw.encode() if isinstance(raw, str) else raw)

    @translated
    async def fill(self, code: str, destination: Destination | None) -> None:
        """Reader's cache-aside fill: never overwrites, never races a writer."""
        if destination is None and self._negative_ttl == 0:
            return
        if "}" in code:  # no link has one; it would break the fence key's hash tag
            return
        await self._fill(
            keys=[_key(code), _fence_key(code)],
            args=[encode(destination), self._ttl_for(destination)],
        )

    @translated
    async def store(self, entries: Sequence[tuple[str, Destination]]) -> None:
        """Writer's path for new links: cache them and tell redirectors (which may
        hold a negative entry for a code that now exists). One round trip."""
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for code, destination in entries:
            pipe.set(_key(code), encode(destination), ex=self._ttl)
        await self._execute_and_announce(pipe, [code for code, _ in entries])

    @translated
    async def invalidate(self, codes: Sequence[str]) -> None:
        """Writer's path for changed or deleted links: drop, fence, announce."""
        if not codes:
            return
        pipe = self._redis.pipeline(transaction=False)
        for code in codes:
            pipe.delete(_key(code))
            pipe.set(_fence_key(code), b"1", ex=FENCE_SECONDS)
        waits = self._wait_for_replicas(pipe, codes)
        results = await self._execute_and_announce(pipe, codes)
        confirmed = results[len(results) - waits :] if waits else []
        if any(replicas < self._replicas for replicas in confirmed):
            raise RedisError(f"no replica confirmed the invalidation within {REPLICA_WAIT_MS} ms")

    def _wait_for_replicas(self, pipe: Any, codes: Sequence[str]) -> int:
        """Queue WAIT on every master the writes went to; how many were queued.
        WAIT covers the writes made on its own connection, and a pipeline sends
        each node's share over one connection, in order."""
        if not self._replicas:
            return 0
        if not isinstance(self._redis, RedisCluster):
            pipe.wait(self._replicas, REPLICA_WAIT_MS)
            return 1
        waits = 0
        for node, replicas in shard_replicas(self._redis, [_key(c) for c in codes]).items():
            # A master left without a replica (its own was promoted, or is gone) has
            # none to lose the write to: waiting would only refuse every edit.
            if replicas:
                pipe.execute_command("WAIT", self._replicas, REPLICA_WAIT_MS, target_nodes=node)
                waits += 1
        return waits

    async def _execute_and_announce(self, pipe: Any, codes: Sequence[str]) -> list[Any]:
        """The pipeline's results, then the codes published to every redirector.
        A cluster pipeline can't carry PUBLISH: it follows on its own (a classic
        PUBLISH reaches the subscribers of every node of the cluster)."""
        announcement = "\n".join(codes)
        if isinstance(self._redis, RedisCluster):
            results: list[Any] = await pipe.execute()
            await self._redis.publish(INVALIDATION_CHANNEL, announcement)
            return results
        pipe.publish(INVALIDATION_CHANNEL, announcement)
        return list(await pipe.execute())[:-1]


class InvalidationListener:
    """Feeds the invalidation channel into callbacks, reconnecting forever.

    ``on_reset(True)`` fires once subscribed (start from a clean slate: messages
    may have been missed), ``on_reset(False)`` whenever the feed is lost.
    """

    def __init__(
        self,
        redis: RedisClient,
        on_codes: Callable[[list[str]], None],
        on_reset: Callable[[bool], None],
        retry_seconds: float = 0.5,
    ) -> None:
        self._redis = redis
        self._on_codes = on_codes
        self._on_reset = on_reset
        self._retry_seconds = retry_seconds

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("invalidation feed lost", extra={"error": str(exc)})
            self._on_reset(False)
            await asyncio.sleep(self._retry_seconds)
            await self._find_the_channel()

    async def _find_the_channel(self) -> None:
        """A keyed command on the channel's slot. In a Redis Cluster the feed
        subscribes on the node serving that slot, and only a failed command makes
        the client relearn the slot map after a failover (pub/sub never does)."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.exists(INVALIDATION_CHANNEL)

    async def _listen(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(INVALIDATION_CHANNEL)
            while True:
                # The timeout makes the client ping a silent connection, so a dead
                # peer is noticed instead of waited on forever.
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    await pubsub.ping()
                    continue
                if message["type"] == "subscribe":
                    self._on_reset(True)
                elif message["type"] == "message":
                    self._on_codes(message["data"].decode().split("\n"))
