"""Issue 13, finding 5: a change to a link must never be answered as done while
Redis may still serve the old entry. Against a real Redis that is stopped (its
snapshot kept, as a restarted Redis or a partition would keep it) and restarted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from shortlink.config import Settings
from shortlink.domain.errors import CacheUnavailable
from shortlink.domain.links import MISS, destination_of
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends, link_service, open_backends
from tests.harness import RedisServer
from tests.integration.conftest import SECRET


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def wired(
    database_url: str, own_redis: RedisServer
) -> AsyncIterator[tuple[Backends, LinkService]]:
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "REDIS_URL": own_redis.url, "SHORTLINK_SECRET_KEY": SECRET}
    )
    backends = await open_backends(settings)
    yield backends, link_service(backends, settings)
    await backends.close()


async def _change(links: LinkService, change: str, code: str) -> Any:
    if change == "delete":
        return await links.delete("alice", code)
    if change == "password":
        return await links.update("alice", code, {"password": "s3cret-now"})
    return await links.update("alice", code, {"is_active": False})


@pytest.mark.parametrize("change", ["deactivate", "password", "delete"])
async def test_no_success_while_a_stopped_redis_keeps_the_old_entry(
    wired: tuple[Backends, LinkService], own_redis: RedisServer, change: str
) -> None:
    backends, links = wired
    link = await links.create("alice", CreateLink("https://example.com/open"))
    cached_before = await backends.cache.get(link.code)
    assert cached_before == destination_of(link)

    assert own_redis.command("SAVE") == "+OK"  # what a restarted Redis comes back with
    own_redis.stop()
    try:
        await _change(links, change, link.code)
        answered = "success"
    except CacheUnavailable:
        answered = "503"
    own_redis.start()  # same port and directory: the old entry is back

    cached = await backends.cache.get(link.code)
    row = await backends.links.get(link.code)
    if answered == "success":
        # Then the cache must not serve what the change removed.
        assert cached is MISS or cached == (destination_of(row) if row else None), (
            f"{change} answered success, yet the cache still serves the old link"
        )
    assert answered == "503"
    assert row == link  # rolled back: the database still holds what the cache serves
    assert cached == cached_before

    await _change(links, change, link.code)  # Redis is back: the change goes through
    assert await backends.cache.get(link.code) is MISS
