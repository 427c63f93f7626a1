"""BulkLinkService against real PostgreSQL and Redis: seed flow 10 (bulk creation)."""

from __future__ import annotations

import pytest

from shortlink.domain.errors import AliasTaken, BulkInvalid, InvalidRequest
from shortlink.domain.links import MISS
from shortlink.services.bulk_links import BulkLinkService
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends


async def test_bulk_inserts_all_in_one_go(bulk_links: BulkLinkService, backends: Backends) -> None:
    requests = [CreateLink(f"https://example.com/{i}") for i in range(1000)]

    results = await bulk_links.create("alice", requests)

    assert [r.index for r in results] == list(range(1000))
    assert all(r.link is not None for r in results)
    assert await backends.pool.fetchval("SELECT count(*) FROM links WHERE owner = 'alice'") == 1000
    sample = results[500].link
    assert sample is not None and sample.target == "https://example.com/500"
    assert await backends.cache.get(sample.code) is not MISS


async def test_bulk_with_any_invalid_item_creates_nothing(
    bulk_links: BulkLinkService, backends: Backends
) -> None:
    requests = [CreateLink("https://example.com/ok")] * 3 + [CreateLink("ftp://nope")]
    requests.append(CreateLink("https://example.com/x", custom_alias="a"))

    with pytest.raises(BulkInvalid) as caught:
        await bulk_links.create("alice", requests)

    assert [(i["index"], i["error"]) for i in caught.value.details["invalid_urls"]] == [
        (3, "INVALID_URL"),
        (4, "INVALID_ALIAS"),
    ]
    assert await backends.pool.fetchval("SELECT count(*) FROM links") == 0


async def test_bulk_duplicate_alias_in_request_is_invalid(bulk_links: BulkLinkService) -> None:
    requests = [CreateLink("https://example.com/x", custom_alias="twice")] * 2
    with pytest.raises(BulkInvalid):
        await bulk_links.create("alice", requests)


async def test_bulk_reports_taken_alias_and_creates_the_rest(
    links: LinkService, bulk_links: BulkLinkService
) -> None:
    await links.create("bob", CreateLink("https://example.com/b", custom_alias="taken"))
    requests = [
        CreateLink("https://example.com/1"),
        CreateLink("https://example.com/2", custom_alias="taken"),
        CreateLink("https://example.com/3", custom_alias="fresh-one"),
    ]

    results = await bulk_links.create("alice", requests)

    assert results[0].link is not None and results[2].link is not None
    assert results[2].link.code == "fresh-one"
    assert isinstance(results[1].error, AliasTaken)
    assert results[1].error.details["suggestions"]


async def test_bulk_limits(bulk_links: BulkLinkService) -> None:
    with pytest.raises(InvalidRequest):
        await bulk_links.create("alice", [])
    with pytest.raises(InvalidRequest):
        await bulk_links.create("alice", [CreateLink("https://example.com")] * 1001)
