"""Composition root: builds connections and services from Settings, once per process."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from shortlink.adapters.audit import AuditOutbox, AuditRepository
from shortlink.adapters.click_counters import ClickCounters
from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.database import Database
from shortlink.adapters.event_codec import decode_clicks
from shortlink.adapters.event_publisher import EventPublisher, Transport
from shortlink.adapters.event_source import EventSource
from shortlink.adapters.geoip import GeoIP
from shortlink.adapters.kafka_source import KafkaSource
from shortlink.adapters.kafka_topics import ProductionTopicCheck
from shortlink.adapters.kafka_transport import KafkaTransport
from shortlink.adapters.postgres import ApiKeyRepository, LinkRepository
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.redis_connection import (
    RedisClient,
    check_quorum,
    check_redis,
    has_replicas,
    is_sentinel,
)
from shortlink.adapters.redis_connection import redis_client as connect_redis
from shortlink.adapters.redis_counters import WindowCounter
from shortlink.adapters.redis_stream import RedisStreamSource, RedisStreamTransport
from shortlink.adapters.standby_reads import StandbyReads
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.adapters.workspaces import WorkspaceRepository
from shortlink.config import ConfigError, Settings
from shortlink.domain.events import DiscardEvents
from shortlink.services.audit_relay import AuditRelay
from shortlink.services.enrichment import ClickEnricher
from shortlink.services.ingest import ClickIngest
from shortlink.services.links import LinkService
from shortlink.services.unlocks import UnlockService
from shortlink.services.write_retry import WriteRetry


def redis_client(url: str, *, socket_timeout: float = 0.5) -> RedisClient:
    """One server or a Sentinel-found master, by REDIS_URL's form (redis_connection)."""
    # Short timeouts: RedisClient is a cache here, and a hung cache must fail over to
    # PostgreSQL quickly instead of holding requests.
    return connect_redis(
        url, socket_timeout=socket_timeout, socket_connect_timeout=0.5, health_check_interval=30
    )


@dataclass
class Backends:
    database: Database
    redis: RedisClient
    links: LinkRepository
    api_keys: ApiKeyRepository
    workspaces: WorkspaceRepository
    audit: AuditRepository
    cache: LinkCache
    events: EventPublisher | None  # None: SHORTLINK_EVENTS=off
    # In production with Kafka: fails while the clicks topic could lose clicks.
    bus_durability: Callable[[], Awaitable[None]] | None = None

    async def close(self) -> None:
        if self.events is not None:
            await self.events.stop()  # flushes what is buffered, briefly
        await self.redis.aclose()
        await self.database.close()

    @property
    def pool(self) -> asyncpg.Pool:
        return self.database.pool

    async def ping_postgres(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def ping_redis(self) -> None:
        await check_redis(self.redis)

    @property
    def redis_quorum(self) -> Callable[[], Awaitable[None]] | None:
        """With Sentinels: a check that they could still fail the master over."""
        redis = self.redis
        return (lambda: check_quorum(redis)) if is_sentinel(redis) else None


async def open_backends(settings: Settings) -> Backends:
    database = await Database.open(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        connect_timeout=settings.db_connect_timeout,
    )
    pool = database.pool
    redis = redis_client(settings.redis_url)
    events = event_publisher(settings, redis)
    if events is not None:
        events.start()  # connects in the background: a broker outage never blocks startup
    return Backends(
        database=database,
        redis=redis,
        links=LinkRepository(pool),
        api_keys=ApiKeyRepository(pool),
        workspaces=WorkspaceRepository(pool),
        audit=AuditRepository(pool),
        # Behind Sentinels or in a cluster there are replicas to lose an invalidation
        # to (a failover promotes one): wait for one.
        cache=LinkCache(
            redis, settings.cache_ttl, settings.negative_cache_ttl, 1 if has_replicas(redis) else 0
        ),
        events=events,
        bus_durability=bus_durability_check(settings),
    )


def bus_durability_check(settings: Settings) -> ProductionTopicCheck | None:
    """In production, with clicks on Kafka: a check that their topic can't be lost
    with one broker. A dev or test setup's one broker is no problem."""
    if not (settings.production and settings.events == "kafka"):
        return None
    return ProductionTopicCheck(settings.kafka_bootstrap_servers, settings.clicks_topic)


def event_transport(settings: Settings, redis: RedisClient) -> Transport | None:
    if settings.events == "kafka":
        compression = None if settings.kafka_compression == "none" else settings.kafka_compression
        return KafkaTransport(
            settings.kafka_bootstrap_servers,
            compression=compression,
            acks=settings.kafka_acks,
            idempotence=settings.kafka_idempotence,
        )
    if settings.events == "redis":
        return RedisStreamTransport(redis)
    return None


def event_publisher(settings: Settings, redis: RedisClient) -> EventPublisher | None:
    transport = event_transport(settings, redis)
    if transport is None:
        return None
    return EventPublisher(
        transport,
        clicks_topic=settings.clicks_topic,
        links_topic=settings.links_topic,
        capacity=settings.event_buffer_size,
    )


def audit_relay(backends: Backends, settings: Settings) -> AuditRelay:
    """Publishes the audit log on its own transport (a send is awaited: at least once)."""
    return AuditRelay(
        AuditOutbox(backends.pool), event_transport(settings, backends.redis), settings.audit_topic
    )


def link_service(backends: Backends, settings: Settings) -> LinkService:
    return LinkService(
        repo=backends.links,
        cache=backends.cache,
        policy=settings.url_policy,
        events=backends.events or DiscardEvents(),
        retry=WriteRetry(
            backends.database.reset,
            settings.db_retry_window,
            ready=backends.database.writable,
        ),
    )


def unlock_service(backends: Backends, settings: Settings) -> UnlockService:
    return UnlockService(
        backends.links, WindowCounter(backends.redis, "unlock-fail:"), settings.secret_key
    )


def click_events_source(settings: Settings) -> EventSource:
    """Where the analytics worker reads clicks from: the bus the publishers use."""
    if settings.events == "kafka":
        return KafkaSource(
            settings.kafka_bootstrap_servers, settings.clicks_topic, settings.analytics_group
        )
    if settings.events == "redis":
        # A client of its own: blocking reads outlast the cache client's short timeout.
        stream_client = connect_redis(settings.redis_url, socket_timeout=30)
        return RedisStreamSource(
            stream_client, settings.clicks_topic, settings.analytics_group, socket.gethostname()
        )
    raise ConfigError("analytics needs an event bus: set SHORTLINK_EVENTS (kafka or redis)")


def click_store(settings: Settings) -> ClickStore | None:
    if not settings.clickhouse_url:
        return None
    return ClickStore.connect(settings.clickhouse_url, settings.clickhouse_cluster)


def click_ingest(
    settings: Settings,
    source: EventSource,
    store: ClickStore,
    redis: RedisClient,
    observe_lag: Callable[[float], None],
) -> ClickIngest:
    enricher = ClickEnricher(
        GeoIP(settings.geoip_database or None),
        UserAgentParser(),
        # Visitor ids are keyed hashes: without the key they can't be reversed to IPs.
        salt=settings.visitor_salt,
        keep_raw_ip=settings.keep_raw_ip,
    )
    return ClickIngest(
        source,
        store,
        decode_clicks,
        enricher.enrich,
        ClickCounters(redis),
        batch_events=settings.analytics_batch_events,
        flush_interval=settings.analytics_flush_ms / 1000,
        observe_lag=observe_lag,
    )


async def standby_reads(settings: Settings, backends: Backends) -> StandbyReads | None:
    """Reads on standbys for redirect misses, when DATABASE_READ_URL names them."""
    if not settings.database_read_url:
        return None
    reads = await StandbyReads.open(
        settings.database_read_url, backends.pool, settings.read_max_lag
    )
    reads.start()
    return reads
