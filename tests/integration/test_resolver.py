"""The redirector's lookup path: L1 → Redis → PostgreSQL, fills, fences and invalidation."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from shortlink.adapters.local_cache import LocalCache
from shortlink.adapters.redis_cache import InvalidationListener
from shortlink.domain.links import MISS
from shortlink.services.links import CreateLink, LinkService
from shortlink.services.resolver import LinkResolver
from shortlink.wiring import Backends, redis_client


def resolver_for(backends: Backends) -> LinkResolver:
    local = LocalCache(max_size=1000, ttl_seconds=60)
    local.reset(enabled=True)
    return LinkResolver(local, backends.cache, backends.links)


async def test_tiers_in_order(links: LinkService, backends: Backends) -> None:
    link = await links.create("alice", CreateLink("https://example.com/a"))
    resolver = resolver_for(backends)

    first, first_tier = await resolver.resolve(link.code)
    second, second_tier = await resolver.resolve(link.code)

    assert (first_tier, second_tier) == ("redis", "local")
    assert first == second and first is not None and first.target == "https://example.com/a"


async def test_cache_miss_reads_postgres_and_fills_redis(
    links: LinkService, backends: Backends
) -> None:
    link = await links.create("alice", CreateLink("https://example.com/a"))
    await backends.redis.flushall()

    destination, tier = await resolver_for(backends).resolve(link.code)

    assert tier == "db" and destination is not None
    assert await backends.cache.get(link.code) == destination


async def test_unknown_code_is_negatively_cached(backends: Backends) -> None:
    resolver = resolver_for(backends)
    assert await resolver.resolve("nothere") == (None, "db")
    assert await backends.cache.get("nothere") is None  # cached "unservable", not MISS
    assert await resolver.resolve("nothere") == (None, "local")


async def test_created_code_replaces_negative_entry(links: LinkService, backends: Backends) -> None:
    resolver = resolver_for(backends)
    await resolver.resolve("soon-here")
    await links.create("alice", CreateLink("https://example.com/new", custom_alias="soon-here"))
    resolver.local.invalidate(["soon-here"])  # what the feed delivers; tested below

    destination, tier = await resolver.resolve("soon-here")
    assert tier == "redis" and destination is not None


async def test_writer_fence_blocks_stale_reader_fill(
    links: LinkService, backends: Backends
) -> None:
    link = await links.create("alice", CreateLink("https://example.com/old"))
    stale = await backends.cache.get(link.code)
    assert stale is not MISS

    # A reader read the old row, then a writer changed it, then the reader fills.
    await links.update("alice", link.code, {"original_url": "https://example.com/new"})
    await backends.cache.fill(link.code, stale)  # type: ignore[arg-type]

    assert await backends.cache.get(link.code) is MISS


async def test_redis_down_falls_back_to_postgres(links: LinkService, backends: Backends) -> None:
    link = await links.create("alice", CreateLink("https://example.com/a"))
    resolver = LinkResolver(
        LocalCache(10, 60),
        type(backends.cache)(
            Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), 60, 60
        ),
        backends.links,
    )

    destination, tier = await resolver.resolve(link.code)

    assert tier == "db" and destination is not None and resolver.redis_errors == 2


async def test_invalidation_feed_evicts_everywhere_quickly(
    links: LinkService, backends: Backends, redis_url: str
) -> None:
    link = await links.create("alice", CreateLink("https://example.com/old"))
    local = LocalCache(1000, 60)
    feed = redis_client(redis_url)
    listener = asyncio.create_task(InvalidationListener(feed, local.invalidate, local.reset).run())
    try:
        for _ in range(100):
            if local.enabled:
                break
            await asyncio.sleep(0.01)
        assert local.enabled, "L1 must switch on once subscribed"
        resolver = LinkResolver(local, backends.cache, backends.links)
        await resolver.resolve(link.code)
        assert local.get(link.code) is not MISS

        await links.update("alice", link.code, {"original_url": "https://example.com/new"})
        for _ in range(100):  # must land well within the 1 s budget
            if local.get(link.code) is MISS:
                break
            await asyncio.sleep(0.01)

        assert local.get(link.code) is MISS
        destination, _ = await resolver.resolve(link.code)
        assert destination is not None and destination.target == "https://example.com/new"
    finally:
        listener.cancel()
        await feed.aclose()


async def test_l1_disabled_while_feed_is_down() -> None:
    local = LocalCache(1000, 60)
    feed = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.1)
    resets: list[bool] = []

    def on_reset(enabled: bool) -> None:
        resets.append(enabled)
        local.reset(enabled)

    listener = asyncio.create_task(
        InvalidationListener(feed, local.invalidate, on_reset, retry_seconds=0.05).run()
    )
    await asyncio.sleep(0.3)
    listener.cancel()
    await feed.aclose()

    assert resets and not any(resets) and not local.enabled
    local.put("abc", None, local.generation)
    assert local.get("abc") is MISS
