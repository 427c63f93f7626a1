"""LinkService against real PostgreSQL and Redis: seed flows 1, 6, 7 and management."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shortlink.domain.errors import (
    AliasTaken,
    InvalidRequest,
    InvalidUrl,
    NotFound,
)
from shortlink.domain.links import MISS
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends


async def test_create_stores_link_and_caches_it(links: LinkService, backends: Backends) -> None:
    link = await links.create("alice", CreateLink("https://example.com/a"))

    assert len(link.code) == 7 and link.owner == "alice" and not link.is_custom_alias
    assert await backends.links.get(link.code) == link
    cached = await backends.cache.get(link.code)
    assert cached is not MISS and cached.target == "https://example.com/a"  # type: ignore[union-attr]


async def test_invalid_url_creates_nothing(links: LinkService, backends: Backends) -> None:
    with pytest.raises(InvalidUrl):
        await links.create("alice", CreateLink("https://sub.malware.test/x"))
    assert await backends.pool.fetchval("SELECT count(*) FROM links") == 0


async def test_taken_alias_conflicts_with_free_suggestions(links: LinkService) -> None:
    await links.create("alice", CreateLink("https://example.com/1", custom_alias="my-blog"))
    await links.create("bob", CreateLink("https://example.com/2", custom_alias="my-blog-2"))

    with pytest.raises(AliasTaken) as caught:
        await links.create("carol", CreateLink("https://example.com/3", custom_alias="my-blog"))

    suggestions = caught.value.details["suggestions"]
    assert suggestions and "my-blog-2" not in suggestions
    for alias in suggestions:  # each really is free
        created = await links.create(
            "carol", CreateLink("https://example.com/3", custom_alias=alias)
        )
        assert created.code == alias


async def test_concurrent_creates_of_one_alias_have_one_winner(links: LinkService) -> None:
    attempts = [
        links.create(f"user{i}", CreateLink("https://example.com/race", custom_alias="race"))
        for i in range(10)
    ]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)

    assert sum(1 for o in outcomes if not isinstance(o, Exception)) == 1
    assert all(isinstance(o, AliasTaken) for o in outcomes if isinstance(o, Exception))


async def test_owner_isolation(links: LinkService) -> None:
    link = await links.create("alice", CreateLink("https://example.com/a"))
    with pytest.raises(NotFound):
        await links.get("mallory", link.code)
    with pytest.raises(NotFound):
        await links.update("mallory", link.code, {"is_active": False})
    with pytest.raises(NotFound):
        await links.delete("mallory", link.code)
    assert (await links.get("alice", link.code)).is_active


async def test_update_changes_fields_and_invalidates_cache(
    links: LinkService, backends: Backends
) -> None:
    link = await links.create("alice", CreateLink("https://example.com/old"))
    expiry = datetime.now(UTC) + timedelta(days=1)

    updated = await links.update(
        "alice",
        link.code,
        {"original_url": "https://example.com/new", "expires_at": expiry.isoformat(),
         "redirect_type": 307},
    )  # fmt: skip

    assert updated.target == "https://example.com/new" and updated.redirect_type == 307
    assert updated.expires_at is not None and abs(updated.expires_at - expiry) < timedelta(
        seconds=1
    )
    assert await backends.cache.get(link.code) is MISS
    cleared = await links.update("alice", link.code, {"expires_at": None})
    assert cleared.expires_at is None


async def test_update_rejects_unknown_and_empty(links: LinkService) -> None:
    link = await links.create("alice", CreateLink("https://example.com/old"))
    with pytest.raises(InvalidRequest):
        await links.update("alice", link.code, {})
    with pytest.raises(InvalidRequest):
        await links.update("alice", link.code, {"owner": "mallory"})
    # Nulls only clear what may be absent (expiry, password): target and flag stay set.
    with pytest.raises(InvalidUrl):
        await links.update("alice", link.code, {"original_url": None})
    with pytest.raises(InvalidRequest):
        await links.update("alice", link.code, {"is_active": None})


async def test_delete_keeps_code_reserved(links: LinkService, backends: Backends) -> None:
    await links.create("alice", CreateLink("https://example.com/a", custom_alias="gone-soon"))
    await links.delete("alice", "gone-soon")

    assert await backends.links.get("gone-soon") is None
    with pytest.raises(AliasTaken):
        await links.create("bob", CreateLink("https://evil.example/a", custom_alias="gone-soon"))


async def test_list_paginates_newest_first(links: LinkService) -> None:
    created = [
        await links.create("alice", CreateLink(f"https://example.com/{i}")) for i in range(5)
    ]
    await links.create("bob", CreateLink("https://example.com/bob"))

    first = await links.list("alice", 2, None)
    second = await links.list("alice", 2, first.next_cursor)
    third = await links.list("alice", 2, second.next_cursor)

    seen = [link.code for page in (first, second, third) for link in page.links]
    assert seen == [link.code for link in reversed(created)]
    assert third.next_cursor is None
    with pytest.raises(InvalidRequest):
        await links.list("alice", 0, None)
    with pytest.raises(InvalidRequest):
        await links.list("alice", 10, "not-a-cursor")
