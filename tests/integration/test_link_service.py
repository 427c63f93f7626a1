"""LinkService against real PostgreSQL and Redis: seed flows 1, 5, 6, 7, 10 and management."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shortlink.adapters.local_cache import MISS
from shortlink.domain.errors import (
    AliasTaken,
    BulkInvalid,
    InvalidRequest,
    InvalidUrl,
    LinkExpired,
    NotFound,
    NotPasswordProtected,
    TooManyAttempts,
    WrongPassword,
)
from shortlink.domain.passwords import MAX_UNLOCK_ATTEMPTS
from shortlink.domain.unlock_tokens import unlock_token_valid
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends
from tests.integration.conftest import SECRET


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


async def test_bulk_inserts_all_in_one_go(links: LinkService, backends: Backends) -> None:
    requests = [CreateLink(f"https://example.com/{i}") for i in range(1000)]

    results = await links.create_bulk("alice", requests)

    assert [r.index for r in results] == list(range(1000))
    assert all(r.link is not None for r in results)
    assert await backends.pool.fetchval("SELECT count(*) FROM links WHERE owner = 'alice'") == 1000
    sample = results[500].link
    assert sample is not None and sample.target == "https://example.com/500"
    assert await backends.cache.get(sample.code) is not MISS


async def test_bulk_with_any_invalid_item_creates_nothing(
    links: LinkService, backends: Backends
) -> None:
    requests = [CreateLink("https://example.com/ok")] * 3 + [CreateLink("ftp://nope")]
    requests.append(CreateLink("https://example.com/x", custom_alias="a"))

    with pytest.raises(BulkInvalid) as caught:
        await links.create_bulk("alice", requests)

    assert [(i["index"], i["error"]) for i in caught.value.details["invalid_urls"]] == [
        (3, "INVALID_URL"),
        (4, "INVALID_ALIAS"),
    ]
    assert await backends.pool.fetchval("SELECT count(*) FROM links") == 0


async def test_bulk_duplicate_alias_in_request_is_invalid(links: LinkService) -> None:
    requests = [CreateLink("https://example.com/x", custom_alias="twice")] * 2
    with pytest.raises(BulkInvalid):
        await links.create_bulk("alice", requests)


async def test_bulk_reports_taken_alias_and_creates_the_rest(links: LinkService) -> None:
    await links.create("bob", CreateLink("https://example.com/b", custom_alias="taken"))
    requests = [
        CreateLink("https://example.com/1"),
        CreateLink("https://example.com/2", custom_alias="taken"),
        CreateLink("https://example.com/3", custom_alias="fresh-one"),
    ]

    results = await links.create_bulk("alice", requests)

    assert results[0].link is not None and results[2].link is not None
    assert results[2].link.code == "fresh-one"
    assert isinstance(results[1].error, AliasTaken)
    assert results[1].error.details["suggestions"]


async def test_bulk_limits(links: LinkService) -> None:
    with pytest.raises(InvalidRequest):
        await links.create_bulk("alice", [])
    with pytest.raises(InvalidRequest):
        await links.create_bulk("alice", [CreateLink("https://example.com")] * 1001)


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


async def test_unlock_flow(links: LinkService) -> None:
    link = await links.create(
        "alice", CreateLink("https://example.com/p", custom_alias="locked", password="hunter2")
    )
    assert link.password_hash is not None and link.password_hash.startswith("$2b$10$")

    with pytest.raises(WrongPassword) as wrong:
        await links.unlock("locked", "guess", "10.0.0.1")
    assert wrong.value.details["attempts_remaining"] == MAX_UNLOCK_ATTEMPTS - 1

    unlocked = await links.unlock("locked", "hunter2", "10.0.0.1")
    from shortlink.domain.passwords import password_fingerprint

    assert unlock_token_valid(
        unlocked.token,
        "locked",
        password_fingerprint(link.password_hash),
        SECRET,
        datetime.now(UTC),
    )


async def test_unlock_locks_out_after_too_many_failures(links: LinkService) -> None:
    await links.create(
        "alice", CreateLink("https://example.com/p", custom_alias="locked", password="hunter2")
    )
    remaining = []
    for _ in range(MAX_UNLOCK_ATTEMPTS):
        with pytest.raises(WrongPassword) as wrong:
            await links.unlock("locked", "guess", "10.0.0.1")
        remaining.append(wrong.value.details["attempts_remaining"])

    assert remaining == list(range(MAX_UNLOCK_ATTEMPTS - 1, -1, -1))
    with pytest.raises(TooManyAttempts) as locked:
        await links.unlock("locked", "hunter2", "10.0.0.1")  # even the right one
    assert locked.value.details["retry_after"] > 0
    # Another client is not locked out by this one's guesses.
    assert (await links.unlock("locked", "hunter2", "10.0.0.2")).token


async def test_unlock_refusals(links: LinkService, backends: Backends) -> None:
    await links.create("alice", CreateLink("https://example.com/p", custom_alias="open-link"))
    with pytest.raises(NotPasswordProtected):
        await links.unlock("open-link", "x", "ip")
    with pytest.raises(NotFound):
        await links.unlock("missing", "x", "ip")
    await links.create(
        "alice", CreateLink("https://example.com/p", custom_alias="old-one", password="pw")
    )
    await backends.pool.execute(
        "UPDATE links SET expires_at = now() - interval '1 day' WHERE code = 'old-one'"
    )
    with pytest.raises(LinkExpired) as expired:
        await links.unlock("old-one", "pw", "ip")
    assert expired.value.details["expired_at"].endswith("Z")
