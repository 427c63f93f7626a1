"""The Redis-side analytics adapters on a real Redis: hot click counters, and the
stream transport/source that `shortlink dev` uses instead of Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shortlink.adapters.click_counters import ClickCounters
from shortlink.adapters.redis_stream import RedisStreamSource, RedisStreamTransport


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_only_hot_links_are_counted_from_their_stored_total(redis: Redis) -> None:
    counters = ClickCounters(redis)

    assert await counters.add({"cold": 3, "viral": 2}) == {"cold", "viral"}
    assert await counters.total("viral") is None  # no key until promoted

    await counters.promote({"viral": 1500})
    await counters.promote({"viral": 9})  # NX: a counter already running is kept
    assert await counters.add({"cold": 1, "viral": 4}) == {"cold"}
    assert await counters.total("viral") == 1504
    assert await counters.total("cold") is None


async def test_stream_redelivers_what_was_not_committed(redis_url: str, redis: Redis) -> None:
    transport = RedisStreamTransport(redis)
    await transport.start()
    await transport.send("clicks", [b"r1", b"r2", b"r3"])

    first = RedisStreamSource(Redis.from_url(redis_url), "clicks", "analytics", "worker-a")
    await first.start()
    records = await first.fetch(10, 0.1)
    assert [r.value for r in records] == [b"r1", b"r2", b"r3"]
    assert [r.offset for r in records] == sorted(r.offset for r in records)
    await first.commit({"clicks": records[0].offset})  # only r1 is done
    await first.stop()  # then the worker dies

    again = RedisStreamSource(Redis.from_url(redis_url), "clicks", "analytics", "worker-a")
    await again.start()  # the group exists: no error
    redelivered = await again.fetch(10, 0.1)
    assert [r.value for r in redelivered] == [b"r2", b"r3"]
    await again.commit({"clicks": redelivered[-1].offset})
    await transport.send("clicks", [b"r4"])
    assert [r.value for r in await again.fetch(10, 0.5)] == [b"r4"]  # then new entries
    await again.stop()
