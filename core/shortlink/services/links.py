"""Link use cases for the API: create (single, alias, bulk), read, list, edit, delete, unlock."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from redis.exceptions import RedisError

from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.redis_counters import WindowCounter
from shortlink.domain import passwords
from shortlink.domain.aliases import (
    could_be_code,
    random_suffix,
    suggestion_candidates,
    validate_alias,
)
from shortlink.domain.codes import generate_code, generate_codes
from shortlink.domain.cursors import decode_cursor, encode_cursor
from shortlink.domain.errors import (
    AliasTaken,
    BulkInvalid,
    CacheUnavailable,
    DomainError,
    IdempotencyKeyReused,
    InvalidAlias,
    InvalidRequest,
    LinkExpired,
    NotFound,
    NotPasswordProtected,
    TooManyAttempts,
    WrongPassword,
)
from shortlink.domain.events import DiscardEvents, LinkEvent, LinkEventSink, LinkEventType
from shortlink.domain.expiry import format_instant, is_expired, parse_expiry
from shortlink.domain.idempotency import KEY_TTL, StoredResponse
from shortlink.domain.link_listing import EVERY_LINK, LinkFilter
from shortlink.domain.links import (
    DEFAULT_REDIRECT_TYPE,
    Link,
    NewLink,
    destination_of,
    validate_redirect_type,
)
from shortlink.domain.unlock_tokens import LINK, issue_unlock_token
from shortlink.domain.urls import UrlPolicy, validate_target_url
from shortlink.services.clock import Clock, utc_now
from shortlink.services.password_hashing import HASHER
from shortlink.services.write_retry import WriteRetry

log = logging.getLogger(__name__)

T = TypeVar("T")

_CODE_ATTEMPTS = 5  # 62**7 codes: a second collision in a row means something is wrong
MAX_BULK_ITEMS = 1000
MAX_BULK_PASSWORDS = 100  # ~5 s of bcrypt: one request can't buy a minute of CPU
MAX_PAGE_SIZE = 100
# Pauses between tries to invalidate a changed link's cache entry (then 503).
_INVALIDATION_RETRIES = (0.05, 0.2, 0.5)
_CACHE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class CreateLink:
    """One create request, as received (validated by the service, not before)."""

    original_url: object
    custom_alias: str | None = None
    expires_at: object = None
    password: object = None
    redirect_type: object = DEFAULT_REDIRECT_TYPE


@dataclass(frozen=True)
class BulkItemResult:
    index: int
    link: Link | None = None
    error: DomainError | None = None


@dataclass(frozen=True)
class Page:
    links: list[Link]
    next_cursor: str | None


@dataclass(frozen=True)
class Unlocked:
    token: str  # the 1-hour session token, for the per-link cookie
    link_token: str  # the 60-second one, for a URL
    link: Link


def _alias_taken(alias: str) -> AliasTaken:
    return AliasTaken(f"The alias '{alias}' is already taken", alias=alias)


class _KeyRaced(Exception):
    """Another request stored the same idempotency key first."""


@dataclass
class _Pending:
    index: int
    link: NewLink
    code: str = field(default="")


class LinkService:
    def __init__(
        self,
        repo: LinkRepository,
        cache: LinkCache,
        unlock_failures: WindowCounter,
        policy: UrlPolicy,
        secret_key: str,
        clock: Clock = utc_now,
        events: LinkEventSink | None = None,
        retry: WriteRetry | None = None,
    ) -> None:
        self._repo = repo
        # Creates are retried across a failover (they recognise their own rows);
        # by default: one try, an outage answered as DatabaseUnavailable.
        self._retry = retry or WriteRetry()
        self._cache = cache
        self._unlock_failures = unlock_failures
        self._policy = policy
        self._secret_key = secret_key
        self._clock = clock
        self._events: LinkEventSink = events or DiscardEvents()

    # -- create ---------------------------------------------------------------

    def _validate(
        self, owner: str | None, request: CreateLink, now: datetime
    ) -> tuple[NewLink, str | None]:
        """Every rule but hashing: returns the link (no password yet) and the plain
        password, which only ever leaves here through _with_hashed_passwords."""
        target = validate_target_url(request.original_url, self._policy)
        code = validate_alias(request.custom_alias) if request.custom_alias is not None else None
        password = (
            passwords.validate_password(request.password) if request.password is not None else None
        )
        link = NewLink(
            target=target,
            owner=owner,
            code=code,
            expires_at=parse_expiry(request.expires_at, now),
            redirect_type=validate_redirect_type(request.redirect_type),
        )
        return link, password

    @staticmethod
    async def _with_hashed_passwords(items: list[tuple[NewLink, str | None]]) -> list[NewLink]:
        """bcrypt is ~50 ms a hash: on the hashing threads, all in one hop."""
        plain = [password for _, password in items if password]
        if not plain:
            return [link for link, _ in items]
        hashes = iter(await HASHER.hash_all(plain))
        return [
            replace(link, password_hash=next(hashes)) if password else link
            for link, password in items
        ]

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
                if collisions >= _CODE_ATTEMPTS:
                    raise RuntimeError("could not find a free short code")
                code = generate_code()

        return insert

    async def _alias_taken_with_suggestions(self, alias: str) -> AliasTaken:
        return AliasTaken(
            f"The alias '{alias}' is already taken",
            alias=alias,
            suggestions=await self.suggest(alias),
        )

    async def _created(self, link: Link) -> None:
        await self._announce([link])
        self._notify("url.created", link.owner, [link.code])

    async def create(self, owner: str | None, request: CreateLink) -> Link:
        [new] = await self._with_hashed_passwords([self._validate(owner, request, self._clock())])
        insert = self._inserter(new, uuid4())
        link = await self._retry(lambda: insert(self._repo), "create link")
        if link is None:
            assert new.code is not None
            raise await self._alias_taken_with_suggestions(new.code)
        await self._created(link)
        return link

    async def create_once(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        request: CreateLink,
        render: Callable[[Link], dict[str, Any]],
    ) -> tuple[StoredResponse, bool]:
        """create() under an Idempotency-Key (see _once); True: a replay."""
        [new] = await self._with_hashed_passwords([self._validate(owner, request, self._clock())])
        insert = self._inserter(new, uuid4())

        async def make(tx: LinkRepository) -> tuple[dict[str, Any] | None, Link | None]:
            link = await insert(tx)
            return (render(link) if link else None), link  # alias taken: nothing stored

        response, link = await self._once(owner, key, fingerprint, make)
        if response is None:
            assert new.code is not None
            raise await self._alias_taken_with_suggestions(new.code)
        if link is not None:
            await self._created(link)
        return response, link is None

    async def create_bulk_once(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        requests: Sequence[CreateLink],
        render: Callable[[list[BulkItemResult]], dict[str, Any]],
    ) -> tuple[StoredResponse, bool]:
        """create_bulk() under an Idempotency-Key (see _once), per whole request."""
        validated = self._validate_bulk(owner, requests)
        items = [
            _Pending(i, new) for i, new in enumerate(await self._with_hashed_passwords(validated))
        ]
        token = uuid4()

        async def make(
            tx: LinkRepository,
        ) -> tuple[dict[str, Any] | None, list[BulkItemResult]]:
            results = await self._insert_bulk_in(tx, items, token)
            await self._add_suggestions(results)
            ordered = [results[i] for i in range(len(items))]
            return render(ordered), ordered

        response, results = await self._once(owner, key, fingerprint, make)
        assert response is not None  # a bulk create always answers 201
        if results is not None:
            await self._bulk_created([r.link for r in results if r.link is not None])
        return response, results is None

    async def _once(
        self,
        owner: str,
        key: str,
        fingerprint: str,
        make: Callable[[LinkRepository], Awaitable[tuple[dict[str, Any] | None, T]]],
    ) -> tuple[StoredResponse | None, T | None]:
        """Run ``make`` (the create, in the transaction it is given) once per (owner,
        key) in 24 h. Its rendered 201 body is stored in that same transaction, so the
        link(s) and the key commit together or not at all, across retries and a
        failover. Returns (stored response, what make made): made None means a replay
        of an earlier response; response None means make stored nothing (a failure).
        Another body under the key: IdempotencyKeyReused. A duplicate racing the
        first blocks on the key's primary key until that one commits, rolls its own
        work back and replays (or, if the first rolled back, goes ahead itself)."""

        async def attempt() -> tuple[StoredResponse | None, T | None]:
            async with self._repo.transaction() as tx:
                earlier = await tx.stored_response(owner, key, KEY_TTL)
                if earlier is not None:
                    return earlier, None
                body, made = await make(tx)
                if body is None:
                    # A duplicate's alias insert waited for the first to commit: now its
                    # key is visible (read committed), and this is a replay, not a 409.
                    earlier = await tx.stored_response(owner, key, KEY_TTL)
                    return (earlier, None) if earlier is not None else (None, made)
                response = StoredResponse(fingerprint, 201, body)
                if await tx.store_response(owner, key, response, KEY_TTL):
                    return response, made
                raise _KeyRaced()  # the other request committed first: roll back, replay

        for _ in range(2):
            try:
                response, made = await self._retry(attempt, "create once")
                break
            except _KeyRaced:
                continue
        else:
            raise RuntimeError("idempotency key raced twice")
        if response is not None and response.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request in the last "
                f"{KEY_TTL.total_seconds() / 3600:.0f} h",
            )
        return response, made

    async def alias_availability(self, alias: str) -> tuple[bool, list[str]]:
        """Whether ``alias`` can be had right now, and free alternatives if not.
        A malformed or reserved alias raises InvalidAlias, as a create would."""
        validate_alias(alias)
        if not await self._repo.taken([alias]):
            return True, []
        return False, await self.suggest(alias)

    async def check_bulk(self, owner: str | None, requests: Sequence[CreateLink]) -> int:
        """What create_bulk would reject, without creating anything: every rule,
        and aliases taken right now (with suggestions). Returns how many would be made."""
        self._validate_bulk(owner, requests)
        aliases = [r.custom_alias for r in requests if r.custom_alias is not None]
        taken = await self._repo.taken(aliases) if aliases else set()
        invalid = [
            {
                "index": index,
                "error": AliasTaken.code,
                "message": f"The alias '{r.custom_alias}' is already taken",
                "suggestions": await self.suggest(r.custom_alias),
            }
            for index, r in enumerate(requests)
            if r.custom_alias is not None and r.custom_alias in taken
        ]
        if invalid:
            # Like a create of a taken alias: 409, the request itself is well formed.
            raise AliasTaken(
                f"{len(invalid)} of {len(requests)} aliases are taken", invalid_urls=invalid
            )
        return len(requests)

    def _validate_bulk(
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
        now = self._clock()
        invalid: list[dict[str, Any]] = []
        validated: list[tuple[NewLink, str | None]] = []
        seen_aliases: set[str] = set()
        for index, request in enumerate(requests):
            try:
                new, password = self._validate(owner, request, now)
                if new.code is not None and new.code in seen_aliases:
                    raise InvalidAlias(f"Alias '{new.code}' appears more than once in this request")
            except DomainError as exc:
                invalid.append({"index": index, "error": exc.code, "message": exc.message})
                continue
            if new.code is not None:
                seen_aliases.add(new.code)
            validated.append((new, password))
        if invalid:
            raise BulkInvalid(
                f"{len(invalid)} of {len(requests)} URLs are invalid", invalid_urls=invalid
            )
        return validated

    async def create_bulk(
        self, owner: str | None, requests: Sequence[CreateLink]
    ) -> list[BulkItemResult]:
        """All-or-nothing validation, one transaction, one multi-row INSERT per round."""
        validated = self._validate_bulk(owner, requests)
        hashed = await self._with_hashed_passwords(validated)
        items = [_Pending(i, new) for i, new in enumerate(hashed)]
        token = uuid4()
        results = await self._retry(lambda: self._insert_bulk(items, token), "create links")
        await self._bulk_created([r.link for r in results.values() if r.link is not None])
        await self._add_suggestions(results)
        return [results[i] for i in range(len(hashed))]

    async def _bulk_created(self, created: list[Link]) -> None:
        await self._announce(created)
        if created:
            self._notify("url.bulk_created", created[0].owner, [link.code for link in created])

    async def _insert_bulk(self, items: list[_Pending], token: UUID) -> dict[int, BulkItemResult]:
        async with self._repo.transaction() as tx:
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
                    results[p.index] = BulkItemResult(p.index, error=_alias_taken(p.code))
            return results
        pending = items
        for _ in range(_CODE_ATTEMPTS):
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
                    results[p.index] = BulkItemResult(p.index, error=_alias_taken(p.code))
                else:
                    retry.append(p)  # a generated code collided: draw again
            pending = retry
            if not pending:
                break
        else:
            raise RuntimeError("could not find free short codes")
        return results

    async def _add_suggestions(self, results: dict[int, BulkItemResult]) -> None:
        for result in results.values():
            if isinstance(result.error, AliasTaken):
                result.error.details["suggestions"] = await self.suggest(
                    result.error.details["alias"]
                )

    async def suggest(self, alias: str, count: int = 3) -> list[str]:
        """Alternatives to a taken alias that are free right now."""
        candidates = suggestion_candidates(
            alias, self._clock().date(), [random_suffix(secrets.choice) for _ in range(2)]
        )
        taken = await self._repo.taken(candidates)
        return [c for c in candidates if c not in taken][:count]

    async def _announce(self, links: Sequence[Link]) -> None:
        entries = [(link.code, d) for link in links if (d := destination_of(link)) is not None]
        try:
            await self._cache.store(entries)
        except RedisError as exc:
            # The link exists; redirectors will read it from PostgreSQL.
            log.warning("cache write failed", extra={"error": str(exc), "count": len(entries)})

    def _notify(self, kind: LinkEventType, owner: str | None, codes: Sequence[str]) -> None:
        self._events.publish(LinkEvent(kind, owner, tuple(codes), self._clock().timestamp()))

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
        async with self._repo.transaction() as tx:
            yield tx
            await self._forget_or_abort(code)
        await self._forget(code)

    # -- read, list, edit, delete ---------------------------------------------------

    async def get(self, owner: str, code: str) -> Link:
        link = await self._repo.get(code) if could_be_code(code) else None
        # Someone else's link looks exactly like a missing one.
        if link is None or link.owner != owner:
            raise NotFound(f"No link with code '{code}'")
        return link

    async def list(
        self, owner: str, limit: int, cursor: str | None, query: LinkFilter = EVERY_LINK
    ) -> Page:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        after = decode_cursor(cursor) if cursor is not None else None
        links = await self._repo.list_by_owner(owner, limit + 1, after, query, self._clock())
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
                columns["expires_at"] = parse_expiry(value, self._clock())
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
            else:
                raise InvalidRequest(f"Field '{name}' cannot be changed")
        if not could_be_code(code):
            raise NotFound(f"No link with code '{code}'")
        async with self._changing(code) as tx:
            link = await tx.update(code, owner, columns)
            if link is None:
                raise NotFound(f"No link with code '{code}'")
        self._notify("url.updated", owner, [code])
        return link

    async def delete(self, owner: str, code: str) -> None:
        if not could_be_code(code):
            raise NotFound(f"No link with code '{code}'")
        async with self._changing(code) as tx:
            if not await tx.soft_delete(code, owner):
                raise NotFound(f"No link with code '{code}'")
        self._notify("url.deleted", owner, [code])

    # -- unlock ---------------------------------------------------------------

    async def unlock(self, code: str, password: str, client: str) -> Unlocked:
        """Trade a link's password for an unlock token (seed flow 5).

        Failures are counted per (code, client) before the password is checked,
        so parallel guesses can't slip past the limit.
        """
        link = await self._repo.get(code) if could_be_code(code) else None
        if link is None or not link.is_active:
            raise NotFound(f"No link with code '{code}'")
        now = self._clock()
        if is_expired(link.expires_at, now):
            assert link.expires_at is not None
            raise LinkExpired(
                f"This link expired on {link.expires_at.date().isoformat()}",
                expired_at=format_instant(link.expires_at),
            )
        if link.password_hash is None:
            raise NotPasswordProtected(f"The link '{code}' has no password")
        attempt_key = f"{code}:{passwords.unlock_client(client)}"
        code_key = f"{code}:*"  # every client together
        attempts, window_left_ms = await self._unlock_failures.hit(
            attempt_key, passwords.UNLOCK_LOCKOUT_SECONDS
        )
        code_attempts, code_left_ms = await self._unlock_failures.hit(
            code_key, passwords.CODE_UNLOCK_WINDOW_SECONDS
        )
        if attempts > passwords.MAX_UNLOCK_ATTEMPTS:
            raise TooManyAttempts(
                "Too many wrong passwords; try again later",
                retry_after=max(1, -(-window_left_ms // 1000)),
            )
        if code_attempts > passwords.MAX_CODE_UNLOCK_FAILURES:
            raise TooManyAttempts(
                "Too many wrong passwords for this link; try again later",
                retry_after=max(1, -(-code_left_ms // 1000)),
            )
        if not await HASHER.check(password, link.password_hash):
            raise WrongPassword(
                "The password is incorrect",
                attempts_remaining=passwords.attempts_remaining(attempts),
            )
        await self._unlock_failures.clear(attempt_key)
        # A right password is no failure: popular links don't lock themselves out.
        await self._unlock_failures.hit(code_key, passwords.CODE_UNLOCK_WINDOW_SECONDS, -1)
        fingerprint = passwords.password_fingerprint(link.password_hash)
        return Unlocked(
            issue_unlock_token(code, fingerprint, self._secret_key, now),
            issue_unlock_token(code, fingerprint, self._secret_key, now, kind=LINK),
            link,
        )


def bulk_passwords(requests: Sequence[CreateLink]) -> int:
    """How many items of a bulk request carry a password: each is a bcrypt hash,
    and counts as one more create against the rate limit."""
    return sum(1 for r in requests if r.password is not None)
