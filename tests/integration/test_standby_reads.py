"""Issue 24: redirect misses read a standby (DATABASE_READ_URL) within a staleness
bound, on the harness's real primary + asynchronous standby: a replicated link is
answered by the standby, a link too new for it by the primary at once, and a standby
that stopped replaying past the bound answers nothing (the primary does), and says
so on readiness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from shortlink.adapters.local_cache import LocalCache
from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.standby_reads import StandbyBehind, StandbyReads
from shortlink.services.resolver import LinkResolver
from shortlink.wiring import redis_client
from tests.harness.pg_cluster import ClusterMember, PostgresCluster

BOUND = 1.0


@dataclass
class Reads:
    primary: asyncpg.Pool
    standby: ClusterMember
    reads: StandbyReads
    resolver: LinkResolver

    async def insert(self, code: str, target: str) -> None:
        await self.primary.execute("INSERT INTO links (code, target) VALUES ($1, $2)", code, target)

    async def target(self, code: str) -> str | None:
        destination, _ = await self.resolver.resolve(code)
        return destination.target if destination is not None else None

    def replicated(self, code: str) -> bool:
        found = self.standby.execute(
            f"SELECT count(*) FROM links WHERE code = '{code}'", database="shortlink"
        )
        return found == "1"


@pytest.fixture
async def reads(
    pg_cluster_factory: Callable[..., PostgresCluster], redis_url: str
) -> AsyncIterator[Reads]:
    cluster = pg_cluster_factory(standbys=1, synchronous_standby_names="")
    standby = cluster.standbys[0]
    primary = await asyncpg.create_pool(cluster.primary.dsn_for(), min_size=1, max_size=4)
    reads = StandbyReads(
        await asyncpg.create_pool(standby.dsn_for(), min_size=0, max_size=4),
        primary,
        BOUND,
        sample_every=0.05,
    )
    reads.start()
    redis = redis_client(redis_url)
    # No local cache (size 0): each resolve reaches the shared tiers.
    resolver = LinkResolver(
        LocalCache(0, 30), LinkCache(redis, 3600, 0), LinkRepository(primary), 2.0, reads
    )
    try:
        yield Reads(primary, standby, reads, resolver)
    finally:
        await reads.close()
        await primary.close()
        await redis.aclose()


async def _until(condition: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - another process's state, no event
            await asyncio.sleep(0.05)


async def test_a_replicated_link_is_read_from_the_standby(reads: Reads) -> None:
    await reads.insert("onstandby", "https://example.com/standby")
    await _until(lambda: reads.replicated("onstandby"))
    await asyncio.sleep(0.2)  # a WAL sample the standby has replayed past
    assert await reads.target("onstandby") == "https://example.com/standby"
    assert reads.resolver.standby_reads == 1
    await reads.reads.check()  # within the bound: readiness passes
    assert reads.reads.lag <= BOUND


async def test_a_link_too_new_for_the_standby_redirects_at_once_from_the_primary(
    reads: Reads,
) -> None:
    reads.standby.stop_wal_receiver()
    await reads.insert("brandnew", "https://example.com/new")
    assert not reads.replicated("brandnew")
    assert await reads.target("brandnew") == "https://example.com/new"
    assert reads.resolver.standby_reads == 0


async def test_a_standby_behind_the_bound_serves_no_reads_and_readiness_says_so(
    reads: Reads,
) -> None:
    await reads.insert("edited", "https://example.com/v1")
    await _until(lambda: reads.replicated("edited"))
    reads.standby.stop_wal_receiver()
    await reads.primary.execute(
        "UPDATE links SET target = 'https://example.com/v2' WHERE code = 'edited'"
    )
    await asyncio.sleep(BOUND + 0.5)
    # The standby still has v1; past the bound it is not asked, the primary answers.
    assert (
        reads.standby.execute(
            "SELECT target FROM links WHERE code = 'edited'", database="shortlink"
        )
        == "https://example.com/v1"
    )
    assert await reads.target("edited") == "https://example.com/v2"
    assert reads.resolver.standby_reads == 0
    with pytest.raises(StandbyBehind, match=r"behind the primary \(bound 1 s"):
        await reads.reads.check()
    reads.standby.resume_wal_receiver()
    async with asyncio.timeout(15):  # streaming again: back within the bound
        while True:
            try:
                await reads.reads.check()
                break
            except StandbyBehind:
                await asyncio.sleep(0.1)
