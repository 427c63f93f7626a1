"""Idempotency-Key on creates, against real PostgreSQL: one link per key, the first
response replayed, another body refused, owners independent, a race settled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shortlink.domain.errors import AliasTaken, IdempotencyKeyReused
from shortlink.domain.idempotency import fingerprint
from shortlink.domain.links import Link
from shortlink.services.bulk_links import BulkItemResult, BulkLinkService
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends


def _render(link: Link) -> dict[str, Any]:
    return {"short_code": link.code, "original_url": link.target}


async def _create(links: LinkService, owner: str, key: str, url: str) -> tuple[Any, bool]:
    body = {"original_url": url}
    return await links.create_once(owner, key, fingerprint(body), CreateLink(url), _render)


async def _rows(backends: Backends) -> int:
    return int(await backends.pool.fetchval("SELECT count(*) FROM links"))


async def test_a_retry_gets_the_first_response_and_one_row(
    links: LinkService, backends: Backends
) -> None:
    first, replayed_first = await _create(links, "alice", "k1", "https://example.com/a")
    again, replayed_again = await _create(links, "alice", "k1", "https://example.com/a")

    assert (replayed_first, replayed_again) == (False, True)
    assert again == first and first.status == 201
    assert await _rows(backends) == 1
    assert (await backends.links.get(first.body["short_code"])) is not None


async def test_another_body_under_the_same_key_is_refused(
    links: LinkService, backends: Backends
) -> None:
    await _create(links, "alice", "k1", "https://example.com/a")
    with pytest.raises(IdempotencyKeyReused):
        await _create(links, "alice", "k1", "https://example.com/other")
    assert await _rows(backends) == 1


async def test_owners_keys_are_independent(links: LinkService, backends: Backends) -> None:
    alice, _ = await _create(links, "alice", "k1", "https://example.com/a")
    bob, replayed = await _create(links, "bob", "k1", "https://example.com/a")

    assert not replayed and bob.body["short_code"] != alice.body["short_code"]
    assert await _rows(backends) == 2


async def test_a_failed_create_stores_nothing(links: LinkService, backends: Backends) -> None:
    await links.create("bob", CreateLink("https://example.com/b", custom_alias="taken"))
    body = {"original_url": "https://example.com/a", "custom_alias": "taken"}
    request = CreateLink("https://example.com/a", custom_alias="taken")
    with pytest.raises(AliasTaken):
        await links.create_once("alice", "k1", fingerprint(body), request, _render)
    assert await backends.pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_an_expired_key_is_forgotten(links: LinkService, backends: Backends) -> None:
    await _create(links, "alice", "k1", "https://example.com/a")
    await backends.pool.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
    )
    _, replayed = await _create(links, "alice", "k1", "https://example.com/other")

    assert not replayed and await _rows(backends) == 2
    assert await backends.pool.fetchval("SELECT count(*) FROM idempotency_keys") == 1


async def test_simultaneous_duplicates_make_one_link(
    links: LinkService, backends: Backends
) -> None:
    results = await asyncio.gather(
        *(_create(links, "alice", "race", "https://example.com/a") for _ in range(8))
    )

    assert await _rows(backends) == 1
    assert len({r.body["short_code"] for r, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 7


def _render_bulk(results: list[BulkItemResult]) -> dict[str, Any]:
    return {"codes": [r.link.code if r.link else r.error.code for r in results]}  # type: ignore[union-attr]


async def test_a_bulk_retry_gets_the_first_response_and_its_rows_only(
    links: LinkService, bulk_links: BulkLinkService, backends: Backends
) -> None:
    await links.create("bob", CreateLink("https://example.com/b", custom_alias="taken"))
    requests = [CreateLink("https://example.com/1"), CreateLink("https://example.com/2", "taken")]
    body = {"urls": [{"original_url": "https://example.com/1"}, {"custom_alias": "taken"}]}

    first, replayed_first = await bulk_links.create_once(
        "alice", "b1", fingerprint(body), requests, _render_bulk
    )
    again, replayed_again = await bulk_links.create_once(
        "alice", "b1", fingerprint(body), requests, _render_bulk
    )

    assert (replayed_first, replayed_again) == (False, True) and again == first
    assert first.body["codes"][1] == "ALIAS_TAKEN"
    assert await _rows(backends) == 2  # bob's and alice's one
    with pytest.raises(IdempotencyKeyReused):
        await bulk_links.create_once("alice", "b1", fingerprint({}), requests, _render_bulk)


async def test_simultaneous_duplicates_with_an_alias_replay_not_409(
    links: LinkService, backends: Backends
) -> None:
    body = {"original_url": "https://example.com/a", "custom_alias": "racy"}

    async def create() -> tuple[Any, bool]:
        request = CreateLink("https://example.com/a", custom_alias="racy")
        return await links.create_once("alice", "race", fingerprint(body), request, _render)

    results = await asyncio.gather(*(create() for _ in range(6)))

    assert await _rows(backends) == 1
    assert {r.body["short_code"] for r, _ in results} == {"racy"}
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 5
