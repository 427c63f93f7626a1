"""Link use cases for the API: create one (generated code or alias), read, list,
edit, delete. Bulk creation (bulk_links) builds on the create rules and the
announcements here; unlocking a protected link is in unlocks."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.redis_failures import RedisFailure
from shortlink.domain import passwords
from shortlink.domain.aliases import (
    could_be_code,
    random_suffix,
    suggestion_candidates,
    validate_alias,
)
from shortlink.domain.codes import generate_code
from shortlink.domain.cursors import decode_cursor, encode_cursor
from shortlink.domain.errors import (
    AliasTaken,
    CacheUnavailable,
    DomainError,
    InvalidRequest,
    ManagedByKubernetes,
    NotFound,
)
from shortlink.domain.events import DiscardEvents, LinkEvent, LinkEventSink, LinkEventType
from shortlink.domain.expiry import parse_expiry
from shortlink.domain.idempotency import StoredResponse
from shortlink.domain.link_listing import EVERY_LINK, LinkFilter
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import OPTION_FIELDS, LinkOptions, options_document, own_url
from shortlink.domain.links import (
    DEFAULT_REDIRECT_TYPE,
    Link,
    NewLink,
    destination_of,
    validate_redirect_type,
)
from shortlink.domain.routing import Decision, evaluate
from shortlink.domain.urls import UrlPolicy, validate_target_url
from shortlink.domain.visitor_preview import parse_preview
from shortlink.services.clock import Clock, utc_now
from shortlink.services.idempotency import once
from shortlink.services.password_hashing import HASHER
from shortlink.services.write_retry import WriteRetry

log = logging.getLogger(__name__)

CODE_ATTEMPTS = 5  # 62**7 codes: a second collision in a row means something is wrong
MAX_PAGE_SIZE = 100
# Pauses between tries to invalidate a changed link's cache entry (then 503).
_INVALIDATION_RETRIES = (0.05, 0.2, 0.5)
_CACHE_ERRORS = (RedisFailure, OSError)


@dataclass(frozen=True)
class CreateLink:
    """One create request, as received (validated by the service, not before)."""

    original_url: object
    custom_alias: str | None = None
    expires_at: object = None
    password: object = None
    redirect_type: object = DEFAULT_REDIRECT_TYPE
    # The link-options fields given (docs/link-rules.md), as received.
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    links: list[Link]
    next_cursor: str | None


def alias_taken(alias: str) -> AliasTaken:
    return AliasTaken(f"The alias '{alias}' is already taken", alias=alias)


async def with_hashed_passwords(items: list[tuple[NewLink, str | None]]) -> list[NewLink]:
    """Validated links with their plain passwords (see LinkService.validate) as links
    with password hashes. bcrypt is ~50 ms a hash: on the hashing threads, in one hop."""
    plain = [password for _, password in items if password]
    if not plain:
        return [link for link, _ in items]
    hashes = iter(await HASHER.hash_all(plain))
    return [
        replace(link, password_hash=next(hashes)) if password else link for link, password in items
    ]


class LinkService:
    def __init__(
        self,
        repo: LinkRepository,
        cache: LinkCache,
        policy: UrlPolicy,
        clock: Clock = utc_now,
        events: LinkEventSink | None = None,
        retry: WriteRetry | None = None,
    ) -> None:
        # Public: bulk creation (BulkLinkService) writes through the same ones.
        self.repo = repo
        # Creates are retried across a failover (they recognise their own rows);
        # by default: one try, an outage answered as DatabaseUnavailable.
        self.retry = retry or WriteRetry()
        self.clock = clock
        self._cache = cache
        self._policy = policy
        self._events: LinkEventSink = events or DiscardEvents()

    # -- create ---------------------------------------------------------------

    def validate(
        self, owner: str | None, request: CreateLink, now: datetime
    ) -> tuple[NewLink, str | None]:
        """Every rule but hashing: returns the link (no password yet) and the plain
        password, which only ever leaves here through with_hashed_passwords."""
        target = validate_target_url(request.original_url, self._policy)
        code = validate_alias(request.custom_alias) if request.custom_alias is not None else None
        password = (
            passwords.validate_password(request.password) if request.password is not None else None
        )
        expires_at = parse_expiry(request.expires_at, now)
        link = NewLink(
            target=target,
            owner=owner,
            code=code,
            expires_at=expires_at,
            redirect_type=validate_redirect_type(request.redirect_type),
            options=parse_link_options(request.options, self._policy, expires_at=expires_at),
        )
        return link, password

    def _inserter(
        self, new: NewLink, token: UUID
    ) -> Callable[[LinkRepository], Awaitable[Link | None]]:
        """One create's insert, safe to run again: the code is drawn once, before the
        first try, so a retry after an unknown outcome looks for this token's row under
        this code and finds it if the try committed."""
        code = new.code or generate_code()
        collisions = 0

        async def insert(repo: LinkRepository) -> Link | None:
            nonlocal code, collisions
            while True:
                link = await repo.insert(new, code, token)
                if link is not None or new.code is not None:
                    return link
                collisions += 1  # a generated code someone else has: draw again
                if collisions >= CODE_ATTEMPTS:
                    raise RuntimeError("could not find a free short code")
                code = generate_code()

        return insert

    async def _alias_taken_with_suggestions(self, alias: str) -> AliasTaken:
        return AliasTaken(
            f"The alias '{alias}' is already taken",
            alias=alias,
            suggestions=await self.suggest(alias),
        )

    async def announce_created(self, links: Sequence[Link], kind: LinkEventType) -> None:
        """Cache the new links for redirectors and publish the event."""
        await self._announce(links)
        if links:
            self._notify(kind, links[0].owner, [link.code for link in links])

    async def create(self, owner: str | None, request: CreateLink) -> Link:
        [new] = await with_hashed_passwords([self.validate(owner, request, self.clock())])
        insert = self._inserter(new, uuid4())
        link = await self.retry(lambda: insert(self.repo), "create link")
        if link is None:
            assert new.code is not None
            raise await self._alias_taken_with_suggestions(new.code)
        await self.announce_created([link], "url.created")
        return link

    async def create_once(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        request: CreateLink,
        render: Callable[[Link], dict[str, Any]],
    ) -> tuple[StoredResponse, bool]:
        """create() under an Idempotency-Key (see idempotency.once); True: a replay."""
        [new] = await with_hashed_passwords([self.validate(owner, request, self.clock())])
        insert = self._inserter(new, uuid4())

        async def make(tx: LinkRepository) -> tuple[dict[str, Any] | None, Link | None]:
            link = await insert(tx)
            return (render(link) if link else None), link  # alias taken: nothing stored

        response, link = await once(self.repo, self.retry, owner, key, fingerprint, make)
        if response is None:
            assert new.code is not None
            raise await self._alias_taken_with_suggestions(new.code)
        if link is not None:
            await self.announce_created([link], "url.created")
        return response, link is None

    async def alias_availability(self, alias: str) -> tuple[bool, list[str]]:
        """Whether ``alias`` can be had right now, and free alternatives if not.
        A malformed or reserved alias raises InvalidAlias, as a create would."""
        validate_alias(alias)
        if not await self.repo.taken([alias]):
            return True, []
        return False, await self.suggest(alias)

    async def suggest(self, alias: str, count: int = 3) -> list[str]:
        """Alternatives to a taken alias that are free right now."""
        return (await self.suggest_many([alias], count))[alias]

    async def suggest_many(self, aliases: Sequence[str], count: int = 3) -> dict[str, list[str]]:
        """suggest() for many taken aliases, in one lookup of every candidate."""
        today = self.clock().date()
        candidates = {
            alias: suggestion_candidates(
                alias, today, [random_suffix(secrets.choice) for _ in range(2)]
            )
            for alias in aliases
        }
        everything = {c for options in candidates.values() for c in options}
        taken = await self.repo.taken(list(everything)) if everything else set()
        return {
            alias: [c for c in options if c not in taken][:count]
            for alias, options in candidates.items()
        }

    async def _announce(self, links: Sequence[Link]) -> None:
        entries = [(link.code, d) for link in links if (d := destination_of(link)) is not None]
        try:
            await self._cache.store(entries)
        except RedisFailure as exc:
            # The link exists; redirectors will read it from PostgreSQL.
            log.warning("cache write failed", extra={"error": str(exc), "count": len(entries)})

    def _notify(self, kind: LinkEventType, owner: str | None, codes: Sequence[str]) -> None:
        self._events.publish(LinkEvent(kind, owner, tuple(codes), self.clock().timestamp()))

    async def _forget(self, code: str) -> None:
        try:
            await self._cache.invalidate([code])
        except _CACHE_ERRORS as exc:
            log.error("cache invalidation failed", extra={"error": str(exc), "code": code})

    async def _forget_or_abort(self, code: str) -> None:
        """Invalidate before the change commits, retrying briefly; CacheUnavailable if
        Redis stays unreachable, which rolls the change back (the caller's transaction):
        answering success while Redis may still serve the old entry for up to a day
        would leave a removed password or a deactivated link served."""
        for delay in (*_INVALIDATION_RETRIES, None):
            try:
                await self._cache.invalidate([code])
                return
            except _CACHE_ERRORS as exc:
                if delay is None:
                    log.error(
                        "cache invalidation failed; change rolled back",
                        extra={"error": str(exc), "code": code},
                    )
                    raise CacheUnavailable() from None
            await asyncio.sleep(delay)

    @asynccontextmanager
    async def _changing(self, code: str) -> AsyncIterator[LinkRepository]:
        """One link's change: in a transaction that commits only once the cache has
        dropped (and fenced) the old entry; announced again after the commit, for
        redirectors that re-read the row before it committed."""
        async with self.repo.transaction() as tx:
            yield tx
            await self._forget_or_abort(code)
        await self._forget(code)

    # -- read, list, edit, delete ---------------------------------------------------

    async def get(self, owner: str, code: str) -> Link:
        link = await self.repo.get(code) if could_be_code(code) else None
        # Someone else's link looks exactly like a missing one.
        if link is None or link.owner != owner:
            raise NotFound(f"No link with code '{code}'")
        return link

    async def codes(self, owner: str) -> list[str]:
        """Every link code of a workspace (its stats read their clicks)."""
        return await self.repo.codes_of(owner)

    async def preview(
        self, owner: str, code: str, visitor: Mapping[str, Any], salt: bytes
    ) -> tuple[Link, Decision]:
        """What the redirector would answer this (made-up) visitor, by the one evaluator;
        a limited link's remaining budget is not consulted (it spends nothing)."""
        link = await self.get(owner, code)
        facts, at = parse_preview(visitor, link.code, salt, self.clock())
        options = link.options
        decision = evaluate(
            options,
            own_url(options, link.target),
            link.redirect_type,
            link.expires_at.timestamp() if link.expires_at else None,
            facts,
            at,
        )
        return link, decision

    async def list(
        self, owner: str, limit: int, cursor: str | None, query: LinkFilter = EVERY_LINK
    ) -> Page:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        after = decode_cursor(cursor) if cursor is not None else None
        links = await self.repo.list_by_owner(owner, limit + 1, after, query, self.clock())
        more = len(links) > limit
        links = links[:limit]
        next_cursor = encode_cursor(links[-1].created_at, links[-1].code) if more else None
        return Page(links, next_cursor)

    async def update(self, owner: str, code: str, changes: dict[str, Any]) -> Link:
        """PATCH semantics: keys present are changed; None clears expiry or password."""
        if not changes:
            raise InvalidRequest("Nothing to update")
        columns: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "original_url":
                columns["target"] = validate_target_url(value, self._policy)
            elif name == "expires_at":
                columns["expires_at"] = parse_expiry(value, self.clock())
            elif name == "password":
                if value is None:
                    columns["password_hash"] = None
                else:
                    plain = passwords.validate_password(value)
                    columns["password_hash"] = await HASHER.hash(plain)
            elif name == "is_active":
                if not isinstance(value, bool):
                    raise InvalidRequest("is_active must be true or false")
                columns["is_active"] = value
            elif name == "redirect_type":
                columns["redirect_type"] = validate_redirect_type(value)
            elif name not in OPTION_FIELDS:
                raise InvalidRequest(f"Field '{name}' cannot be changed")
        if not could_be_code(code):
            raise NotFound(f"No link with code '{code}'")
        async with self._changing(code) as tx:
            if changes.keys() & set(OPTION_FIELDS) or "expires_at" in columns:
                columns["options"] = await self._changed_options(tx, owner, code, changes, columns)
            link = await tx.update(code, owner, columns)
            if link is None:
                raise await self._unchangeable(tx, owner, code)
        self._notify("url.updated", owner, [code])
        return link

    async def _changed_options(
        self,
        tx: LinkRepository,
        owner: str,
        code: str,
        changes: Mapping[str, Any],
        columns: Mapping[str, Any],
    ) -> LinkOptions:
        """The link's options with the fields in ``changes`` replaced (null: back to
        the default), validated whole: a new expiry must still follow valid_from."""
        current = await tx.get(code, lock=True)
        if current is None or current.owner != owner:
            raise NotFound(f"No link with code '{code}'")
        document = options_document(current.options)
        document.update({k: v for k, v in changes.items() if k in OPTION_FIELDS})
        expires_at = columns.get("expires_at", current.expires_at)
        return parse_link_options(document, self._policy, expires_at=expires_at)

    async def delete(self, owner: str, code: str) -> None:
        if not could_be_code(code):
            raise NotFound(f"No link with code '{code}'")
        async with self._changing(code) as tx:
            if not await tx.soft_delete(code, owner):
                raise await self._unchangeable(tx, owner, code)
        self._notify("url.deleted", owner, [code])

    @staticmethod
    async def _unchangeable(tx: LinkRepository, owner: str, code: str) -> DomainError:
        """Why the owner's write to ``code`` matched no row: a ShortLink's link in the
        owner's workspace is read-only here; anything else (someone else's, none)
        looks like a missing link."""
        link = await tx.get(code)
        if link is not None and link.owner == owner and link.managed_by is not None:
            return ManagedByKubernetes(code, link.managed_by)
        return NotFound(f"No link with code '{code}'")
