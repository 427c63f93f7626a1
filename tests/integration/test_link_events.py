"""Link changes are announced on the event bus (here the Redis stream transport)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from shortlink.config import Settings
from shortlink.services.bulk_links import BulkLinkService
from shortlink.services.links import CreateLink
from shortlink.wiring import Backends, link_service, open_backends


@pytest.fixture
async def bus_backends(settings: Settings) -> AsyncIterator[Backends]:
    opened = await open_backends(settings.with_overrides(events="redis"))
    yield opened
    await opened.close()


async def _link_events(backends: Backends, count: int) -> list[dict[str, object]]:
    async with asyncio.timeout(5):
        while True:
            entries = await backends.redis.xrange("shortlink.links")
            if len(entries) >= count:
                return [orjson.loads(fields[b"v"]) for _, fields in entries]
            await asyncio.sleep(0.02)


async def test_create_bulk_update_delete_are_published(
    bus_backends: Backends, settings: Settings
) -> None:
    links = link_service(bus_backends, settings)
    single = await links.create("alice", CreateLink("https://example.com/one"))
    bulk = await BulkLinkService(links).create(
        "alice", [CreateLink("https://example.com/b1"), CreateLink("https://example.com/b2")]
    )
    await links.update("alice", single.code, {"original_url": "https://example.com/two"})
    await links.delete("alice", single.code)

    events = await _link_events(bus_backends, 4)
    assert [(e["type"], e["owner"]) for e in events] == [
        ("url.created", "alice"),
        ("url.bulk_created", "alice"),
        ("url.updated", "alice"),
        ("url.deleted", "alice"),
    ]
    assert events[0]["codes"] == [single.code]
    assert events[1]["codes"] == [r.link.code for r in bulk if r.link is not None]
    assert events[1]["count"] == 2
    assert all(e["v"] == 1 and isinstance(e["timestamp"], float) for e in events)
