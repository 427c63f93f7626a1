"""Click limits on real Redis and PostgreSQL: exactly N across pods, PostgreSQL as the
truth after a Redis loss, and the stated bound under a failover that loses writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from shortlink.adapters.redis_budget import ClickBudgets
from shortlink.domain.click_budget import failover_overshoot_bound
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.links import NewLink
from shortlink.domain.urls import UrlPolicy
from shortlink.services.click_limits import ClickLimiter
from shortlink.wiring import Backends
from tests.harness.redis import RedisServer


async def limited_link(backends: Backends, max_clicks: int) -> str:
    options = parse_link_options({"max_clicks": max_clicks}, UrlPolicy())
    link = await backends.links.insert(
        NewLink("https://example.com/", "alice", options=options), f"lim{uuid4().hex[:8]}", uuid4()
    )
    assert link is not None and link.options.max_clicks == max_clicks
    return link.code


async def spend_all(limiter: ClickLimiter, code: str, max_clicks: int, tries: int) -> int:
    return sum([await limiter.spend(code, max_clicks) for _ in range(tries)])


@pytest.fixture
async def pods(backends: Backends, redis_url: str) -> AsyncIterator[list[ClickLimiter]]:
    """Two redirector pods' limiters: their own Redis connections, one database."""
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    yield [ClickLimiter(ClickBudgets(c), backends.links, chunk=10) for c in clients]
    for client in clients:
        await client.aclose()


async def test_exactly_n_clicks_across_two_pods(backends: Backends, pods: list[ClickLimiter]):
    code = await limited_link(backends, 500)

    async def hammer(limiter: ClickLimiter) -> int:
        async def worker() -> int:
            return await spend_all(limiter, code, 500, 60)

        return sum(await asyncio.gather(*(worker() for _ in range(8))))

    served = await asyncio.gather(*(hammer(limiter) for limiter in pods))
    assert sum(served) == 500 and all(served)  # 960 tries: both pods served some
    assert await backends.links.clicks_reserved(code) == 500
    assert not await pods[0].has_left(code, 500)


async def test_bots_and_head_do_not_spend(backends: Backends, pods: list[ClickLimiter]):
    code = await limited_link(backends, 3)
    assert await pods[0].has_left(code, 3)  # unknown to Redis yet: PostgreSQL answers
    assert await spend_all(pods[0], code, 3, 2) == 2
    assert all([await pods[1].has_left(code, 3) for _ in range(20)])
    assert await pods[1].spend(code, 3)
    assert not await pods[1].has_left(code, 3)
    assert not await pods[0].spend(code, 3)


async def test_redis_losing_the_budget_serves_none_extra(
    backends: Backends, pods: list[ClickLimiter], redis_url: str
):
    code = await limited_link(backends, 400)
    assert await spend_all(pods[0], code, 400, 105) == 105
    async with Redis.from_url(redis_url) as redis:
        await redis.flushall()  # a restart without persistence
    after = await spend_all(pods[1], code, 400, 400)
    # Every reserved click counts as spent: fewer than one chunk is lost, none is extra.
    assert 400 - failover_overshoot_bound(400, 10) <= 105 + after <= 400


async def test_redis_down_counts_in_postgresql(backends: Backends):
    code = await limited_link(backends, 7)
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = ClickLimiter(ClickBudgets(dead), backends.links)
    assert await spend_all(limiter, code, 7, 12) == 7
    assert not await limiter.has_left(code, 7)
    await dead.aclose()


async def test_a_lowered_limit_applies_at_once(backends: Backends, pods: list[ClickLimiter]):
    code = await limited_link(backends, 300)
    assert await spend_all(pods[0], code, 300, 20) == 20
    assert await spend_all(pods[0], code, 15, 10) == 0  # the redirector's copy says 15 now


@pytest.fixture
async def replica(tmp_path: Path, redis_url: str) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "replica")
    server.start()
    try:
        primary_port = redis_url.split(":")[2].split("/")[0]
        assert server.command("REPLICAOF", "127.0.0.1", primary_port) == "+OK"
        yield server
    finally:
        server.stop()


async def in_sync(replica: RedisServer, key: str, primary: Redis) -> None:
    async with Redis.from_url(replica.url) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if await client.hgetall(key) == await primary.hgetall(key) != {}:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("replica did not catch up")


@pytest.mark.parametrize(
    ("before", "lost", "expected_over"),
    [
        # Chunks of 33 are reserved with 16 left: at 17, 50, 83, 116 clicks used.
        (120, 10, 10),  # the lost clicks stay below the ceiling the replica knows: repeated
        (120, 90, None),  # they cross into chunks reserved after: those count as spent
        (116, 32, 32),  # just after a reservation, all but one of the replica's 33 + 16 lost
    ],
)
async def test_failover_losing_writes_stays_within_the_bound(
    backends: Backends, redis_url: str, replica: RedisServer, before, lost, expected_over
):
    """The replica is promoted with the budget as of some moment, while the old
    primary went on acknowledging clicks it never replicated: the stated bound."""
    limit, configured = 1000, 50
    code = await limited_link(backends, limit)
    async with Redis.from_url(redis_url) as primary, Redis.from_url(replica.url) as promoted:
        old = ClickLimiter(ClickBudgets(primary), backends.links, chunk=configured)
        assert await spend_all(old, code, limit, before) == before
        await old.settled()  # the background reservation lands before the snapshot
        await in_sync(replica, f"budget:{code}", primary)
        assert replica.command("REPLICAOF", "NO", "ONE") == "+OK"  # promoted as of now
        assert await spend_all(old, code, limit, lost) == lost  # acknowledged, never replicated
        await old.settled()
        new = ClickLimiter(ClickBudgets(promoted), backends.links, chunk=configured)
        served = before + lost + await spend_all(new, code, limit, limit)
    over = served - limit
    bound = failover_overshoot_bound(limit, configured)
    assert bound == 33 + 16  # chunk min(50, 1000 // 30), plus the refill mark
    assert over <= bound, over  # never past the bound
    if expected_over is not None:
        assert over == expected_over  # the failover really did repeat clicks
    assert await backends.links.clicks_reserved(code) == limit
