"""Issue 13, finding 3: bcrypt is ~50 ms of CPU a password; one request must not
buy minutes of it for one rate-limit hit. On real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import threading

import pytest
from redis.asyncio import Redis

from shortlink.adapters.redis_counters import WindowCounter
from shortlink.domain.errors import HashingBusy, InvalidRequest
from shortlink.domain.rate_limits import parse_rate_limit
from shortlink.services.bulk_links import MAX_BULK_PASSWORDS, BulkLinkService
from shortlink.services.links import CreateLink
from shortlink.services.password_hashing import HASHER, PasswordHasher
from shortlink.services.rate_limiter import RateLimiter


async def test_a_bulk_request_holds_at_most_100_passwords(bulk_links: BulkLinkService) -> None:
    items = [CreateLink(f"https://example.com/{n}", password="pw") for n in range(101)]
    with pytest.raises(InvalidRequest, match="password-protected"):
        await bulk_links.create("alice", items)
    plain = [CreateLink(f"https://example.com/p{n}") for n in range(200)]
    allowed = plain + items[:MAX_BULK_PASSWORDS]
    assert all(r.link for r in await bulk_links.create("alice", allowed))


async def test_a_costly_request_uses_up_that_much_of_the_limit(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    limiter = RateLimiter(WindowCounter(redis, "rl:"), parse_rate_limit("10/minute"))
    assert (await limiter.check("key:1", cost=6)).remaining == 4
    assert not (await limiter.check("key:1", cost=6)).allowed
    await redis.aclose()


async def test_hashing_runs_on_its_own_threads() -> None:
    seen: list[str] = []
    pools = [HASHER._hashing._pool, HASHER._checks._pool]
    originals = [pool.submit for pool in pools]

    def spy(original):  # type: ignore[no-untyped-def]
        def submit(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append("submitted")
            return original(lambda: (seen.append(threading.current_thread().name), fn(*args))[1])

        return submit

    for pool, original in zip(pools, originals, strict=True):
        pool.submit = spy(original)  # type: ignore[method-assign]
    try:
        hashed = await HASHER.hash("pw")
        assert await HASHER.check("pw", hashed)
    finally:
        for pool, original in zip(pools, originals, strict=True):
            pool.submit = original  # type: ignore[method-assign]
    threads = [name for name in seen if name != "submitted"]
    assert len(threads) == 2 and threads[0].startswith("bcrypt_")
    assert threads[1].startswith("bcrypt-check")


async def test_unlock_checks_are_not_queued_behind_bulk_hashing() -> None:
    """Issue 19, finding 1: a tenant's password creates must not hold public unlocks."""
    hasher = PasswordHasher()
    stored = await hasher.hash("pw")
    # Many creates at once (each its own job), as 1,000 creates from 100 keys were.
    bulk = asyncio.gather(*(hasher.hash("pw") for _ in range(40)))  # ~1 s on 2 threads
    await asyncio.sleep(0.05)
    assert await hasher.check("pw", stored)
    assert not bulk.done(), "the check waited for the whole bulk"
    await bulk


async def test_a_full_hashing_queue_refuses_with_a_retry_after() -> None:
    hasher = PasswordHasher(queue=10)
    first = asyncio.create_task(hasher.hash_all(["pw"] * 8))
    await asyncio.sleep(0)
    with pytest.raises(HashingBusy) as refused:
        await hasher.hash_all(["pw"] * 3)
    assert refused.value.details["retry_after"] >= 1
    await first
    assert len(await hasher.hash_all(["pw"] * 3)) == 3  # room again once the queue drained
    # An idle hasher takes any one request, however small its queue: none is refused for good.
    assert len(await PasswordHasher(queue=2).hash_all(["pw"] * 3)) == 3
