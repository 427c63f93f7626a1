"""Issue 13, finding 3: bcrypt is ~50 ms of CPU a password; one request must not
buy minutes of it for one rate-limit hit. On real PostgreSQL and Redis."""

from __future__ import annotations

import threading

import pytest
from redis.asyncio import Redis

from shortlink.adapters.redis_counters import WindowCounter
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.rate_limits import parse_rate_limit
from shortlink.services.bulk_links import MAX_BULK_PASSWORDS, BulkLinkService
from shortlink.services.links import CreateLink
from shortlink.services.password_hashing import HASHER
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
    original = HASHER._pool.submit

    def spy(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append("submitted")
        return original(lambda: (seen.append(threading.current_thread().name), fn(*args))[1])

    HASHER._pool.submit = spy  # type: ignore[method-assign]
    try:
        hashed = await HASHER.hash("pw")
        assert await HASHER.check("pw", hashed)
    finally:
        HASHER._pool.submit = original  # type: ignore[method-assign]
    assert [name.startswith("bcrypt") for name in seen if name != "submitted"] == [True, True]
