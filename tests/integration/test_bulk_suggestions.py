"""Issue 19, finding 11: a bulk of taken aliases costs a bounded number of queries,
not one suggestion query per alias (1,000 taken aliases were ~1,000 queries for one
rate-limit token). On real PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from shortlink.domain.errors import AliasTaken
from shortlink.services.bulk_links import MAX_SUGGESTED_ALIASES, BulkLinkService
from shortlink.services.links import CreateLink, LinkService

TAKEN = MAX_SUGGESTED_ALIASES + 20


def _count_lookups(links: LinkService) -> list[int]:
    calls: list[int] = []
    real = links.repo.taken

    async def taken(codes: Collection[str]) -> set[str]:
        calls.append(len(codes))
        return await real(codes)

    links.repo.taken = taken  # type: ignore[method-assign]
    return calls


async def test_a_dry_run_of_taken_aliases_makes_two_queries(
    links: LinkService, bulk_links: BulkLinkService
) -> None:
    items = [
        CreateLink(f"https://example.com/{n}", custom_alias=f"taken-{n}") for n in range(TAKEN)
    ]
    await bulk_links.create("alice", items)
    calls = _count_lookups(links)

    with pytest.raises(AliasTaken) as refused:
        await bulk_links.check("alice", items)

    assert len(calls) == 2, calls  # the aliases, then every suggestion candidate at once
    invalid = refused.value.details["invalid_urls"]
    assert len(invalid) == TAKEN
    suggested = [item for item in invalid if item["suggestions"]]
    assert len(suggested) == MAX_SUGGESTED_ALIASES
    assert invalid[0]["suggestions"][0] == "taken-0-2"


async def test_a_bulk_create_of_taken_aliases_makes_a_bounded_number_of_lookups(
    links: LinkService, bulk_links: BulkLinkService
) -> None:
    items = [CreateLink(f"https://example.com/{n}", custom_alias=f"held-{n}") for n in range(TAKEN)]
    await bulk_links.create("alice", items)
    calls = _count_lookups(links)

    results = await bulk_links.create("alice", items)

    assert all(r.error is not None for r in results)
    assert len(calls) == 1, calls
    suggested = [r for r in results if r.error and r.error.details.get("suggestions")]
    assert len(suggested) == MAX_SUGGESTED_ALIASES
