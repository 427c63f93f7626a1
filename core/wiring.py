"""Composition root: builds connections and services from Settings, once per process."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

from shortlink.adapters.postgres import ApiKeyRepository, LinkRepository, create_pool
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.redis_counters import WindowCounter
from shortlink.config import Settings
from shortlink.services.links import LinkService


def redis_client(url: str) -> Redis:
    # Short timeouts: Redis is a cache here, and a hung cache must fail over to
    # PostgreSQL quickly instead of holding requests.
    return Redis.from_url(
        url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30
    )


@dataclass
class Backends:
    pool: asyncpg.Pool
    redis: Redis
    links: LinkRepository
    api_keys: ApiKeyRepository
    cache: LinkCache

    async def close(self) -> None:
        await self.redis.aclose()
        await self.pool.close()

    async def ping_postgres(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def ping_redis(self) -> None:
        await self.redis.ping()


async def open_backends(settings: Settings) -> Backends:
    pool = await create_pool(settings.database_url, settings.db_pool_min, settings.db_pool_max)
    redis = redis_client(settings.redis_url)
    return Backends(
        pool=pool,
        redis=redis,
        links=LinkRepository(pool),
        api_keys=ApiKeyRepository(pool),
        cache=LinkCache(redis, settings.cache_ttl, settings.negative_cache_ttl),
    )


def link_service(backends: Backends, settings: Settings) -> LinkService:
    return LinkService(
        repo=backends.links,
        cache=backends.cache,
        unlock_failures=WindowCounter(backends.redis, "unlock-fail:"),
        policy=settings.url_policy,
        secret_key=settings.secret_key,
    )
