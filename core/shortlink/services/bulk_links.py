"""Bulk creation: up to 1000 links in one request, validated all or nothing,
written in one transaction with one multi-row INSERT per round."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from shortlink.adapters.postgres import LinkRepository
from shortlink.domain.codes import generate_codes
from shortlink.domain.errors import (
    AliasTaken,
    BulkInvalid,
    DomainError,
    InvalidAlias,
    InvalidRequest,
)
from shortlink.domain.idempotency import StoredResponse
from shortlink.domain.links import Link, NewLink
from shortlink.services.idempotency import once
from shortlink.services.links import (
    CODE_ATTEMPTS,
    CreateLink,
    LinkService,
    alias_taken,
    with_hashed_passwords,
)

MAX_BULK_ITEMS = 1000
MAX_BULK_PASSWORDS = 100  # ~5 s of bcrypt: one request can't buy a minute of CPU
# Taken aliases of one bulk request that get suggestions (all looked up in one query):
# the rest get none, so a request of 1,000 taken aliases costs what one token buys.
MAX_SUGGESTED_ALIASES = 50


@dataclass(frozen=True)
class BulkItemResult:
    index: int
    link: Link | None = None
    error: DomainError | None = None


@dataclass
class _Pending:
    index: int
    link: NewLink
    code: str = field(default="")


class BulkLinkService:
    """Creates many links at once through a LinkService's rules, database and cache."""

    def __init__(self, links: LinkService) -> None:
        self._links = links

    async def create(
        self, owner: str | None, requests: Sequence[CreateLink]
    ) -> list[BulkItemResult]:
        """All-or-nothing validation, one transaction, one multi-row INSERT per round."""
        validated = self._validate(owner, requests)
        hashed = await with_hashed_passwords(validated)
        items = [_Pending(i, new) for i, new in enumerate(hashed)]
        token = uuid4()
        results = await self._links.retry(lambda: self._insert_bulk(items, token), "create links")
        await self._links.announce_created(
            [r.link for r in results.values() if r.link is not None], "url.bulk_created"
        )
        await self._add_suggestions(results)
        return [results[i] for i in range(len(hashed))]

    async def create_once(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        requests: Sequence[CreateLink],
        render: Callable[[list[BulkItemResult]], dict[str, Any]],
    ) -> tuple[StoredResponse, bool]:
        """create() under an Idempotency-Key (see idempotency.once), per whole request."""
        validated = self._validate(owner, requests)
        items = [_Pending(i, new) for i, new in enumerate(await with_hashed_passwords(validated))]
        token = uuid4()

        async def make(
            tx: LinkRepository,
        ) -> tuple[dict[str, Any] | None, list[BulkItemResult]]:
            results = await self._insert_bulk_in(tx, items, token)
            await self._add_suggestions(results)
            ordered = [results[i] for i in range(len(items))]
            return render(ordered), ordered

        response, results = await once(
            self._links.repo, self._links.retry, owner, key, fingerprint, make
        )
        assert response is not None  # a bulk create always answers 201
        if results is not None:
            await self._links.announce_created(
                [r.link for r in results if r.link is not None], "url.bulk_created"
            )
        return response, results is None

    async def check(self, owner: str | None, requests: Sequence[CreateLink]) -> int:
        """What create would reject, without creating anything: every rule,
        and aliases taken right now (with suggestions). Returns how many would be made."""
        self._validate(owner, requests)
        aliases = [r.custom_alias for r in requests if r.custom_alias is not None]
        taken = await self._links.repo.taken(aliases) if aliases else set()
        held = [(i, r.custom_alias) for i, r in enumerate(requests) if r.custom_alias in taken]
        suggestions = await self._suggestions([alias for _, alias in held if alias])
        invalid = [
            {
                "index": index,
                "error": AliasTaken.code,
                "message": f"The alias '{alias}' is already taken",
                "suggestions": suggestions.get(alias or "", []),
            }
            for index, alias in held
        ]
        if invalid:
            # Like a create of a taken alias: 409, the request itself is well formed.
            raise AliasTaken(
                f"{len(invalid)} of {len(requests)} aliases are taken", invalid_urls=invalid
            )
        return len(requests)

    def _validate(
        self, owner: str | None, requests: Sequence[CreateLink]
    ) -> list[tuple[NewLink, str | None]]:
        """Every item's rules, all at once: any invalid item → BulkInvalid listing them all."""
        if not requests:
            raise InvalidRequest("urls must contain at least one item")
        if len(requests) > MAX_BULK_ITEMS:
            raise InvalidRequest(f"At most {MAX_BULK_ITEMS} URLs per bulk request")
        if bulk_passwords(requests) > MAX_BULK_PASSWORDS:
            raise InvalidRequest(
                f"At most {MAX_BULK_PASSWORDS} password-protected URLs per bulk request "
                "(each costs a bcrypt hash)"
            )
        now = self._links.clock()
        invalid: list[dict[str, Any]] = []
        validated: list[tuple[NewLink, str | None]] = []
        seen_aliases: set[str] = set()
        for index, request in enumerate(requests):
            try:
                new, password = self._links.validate(owner, request, now)
                if new.code is not None and new.code in seen_aliases:
                    raise InvalidAlias(f"Alias '{new.code}' appears more than once in this request")
            except DomainError as exc:
                problem = {"index": index, "error": exc.code, "message": exc.message}
                if "field" in exc.details:  # e.g. urls[3]'s rules[2].conditions.country
                    problem["field"] = f"urls[{index}].{exc.details['field']}"
                invalid.append(problem)
                continue
            if new.code is not None:
                seen_aliases.add(new.code)
            validated.append((new, password))
        if invalid:
            raise BulkInvalid(
                f"{len(invalid)} of {len(requests)} URLs are invalid", invalid_urls=invalid
            )
        return validated

    async def _insert_bulk(self, items: list[_Pending], token: UUID) -> dict[int, BulkItemResult]:
        async with self._links.repo.transaction() as tx:
            return await self._insert_bulk_in(tx, items, token)

    async def _insert_bulk_in(
        self, tx: LinkRepository, items: list[_Pending], token: UUID
    ) -> dict[int, BulkItemResult]:
        """The whole request in transaction `tx`; safe to run again. If an earlier
        try committed (its outcome unknown to us), its rows carry `token`: they
        are the answer, and the aliases it did not get were taken."""
        # One statement inserts every row, so a generated code must not equal an alias
        # of the same request: ON CONFLICT would keep one row and report both.
        aliases = {p.link.code for p in items if p.link.code is not None}
        results: dict[int, BulkItemResult] = {}
        earlier = {link.code: link for link in await tx.created_by(token)}
        if earlier:
            for p in items:
                if p.code in earlier:
                    results[p.index] = BulkItemResult(p.index, link=earlier[p.code])
                else:
                    results[p.index] = BulkItemResult(p.index, error=alias_taken(p.code))
            return results
        pending = items
        for _ in range(CODE_ATTEMPTS):
            generated = [p for p in pending if p.link.code is None]
            fresh = generate_codes(len(generated), exclude=aliases)
            for p, code in zip(generated, fresh, strict=True):
                p.code = code
            for p in pending:
                if p.link.code is not None:
                    p.code = p.link.code
            inserted = {
                link.code: link
                for link in await tx.insert_many([(p.code, p.link) for p in pending], token)
            }
            retry = []
            for p in pending:
                if p.code in inserted:
                    results[p.index] = BulkItemResult(p.index, link=inserted[p.code])
                elif p.link.code is not None:
                    results[p.index] = BulkItemResult(p.index, error=alias_taken(p.code))
                else:
                    retry.append(p)  # a generated code collided: draw again
            pending = retry
            if not pending:
                break
        else:
            raise RuntimeError("could not find free short codes")
        return results

    async def _add_suggestions(self, results: dict[int, BulkItemResult]) -> None:
        refused = [r.error for r in results.values() if isinstance(r.error, AliasTaken)]
        suggestions = await self._suggestions([error.details["alias"] for error in refused])
        for error in refused:
            error.details["suggestions"] = suggestions.get(error.details["alias"], [])

    async def _suggestions(self, aliases: list[str]) -> dict[str, list[str]]:
        """Free alternatives for the first MAX_SUGGESTED_ALIASES taken aliases, in one query."""
        return await self._links.suggest_many(aliases[:MAX_SUGGESTED_ALIASES]) if aliases else {}


def bulk_passwords(requests: Sequence[CreateLink]) -> int:
    """How many items of a bulk request carry a password: each is a bcrypt hash,
    and counts as one more create against the rate limit."""
    return sum(1 for r in requests if r.password is not None)
