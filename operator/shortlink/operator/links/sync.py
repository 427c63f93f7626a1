"""Writes a ShortLink's link through the same repository and cache the API uses.

Idempotent: applying the same spec twice changes nothing in PostgreSQL and
re-announces the link in Redis (SET + invalidation publish), which is also how a
restart or a drift repair heals a cache entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import asyncpg

from shortlink.adapters.audit import audit_context
from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.redis_cache import LinkCache
from shortlink.adapters.redis_failures import RedisFailure
from shortlink.adapters.workspaces import WorkspaceRepository
from shortlink.domain.audit import AuditContext
from shortlink.domain.codes import generate_code
from shortlink.domain.links import Destination, Link, ManagedRow, NewLink, destination_of
from shortlink.operator.links.reconcile import (
    Desired,
    choose_code,
    conflict_message,
    owns,
    password_digest,
    plan_write,
    unknown_workspace,
)
from shortlink.operator.resource import ObjectRef
from shortlink.services.password_hashing import HASHER

log = logging.getLogger(__name__)

_CODE_ATTEMPTS = 5
_DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
_CACHE_ERRORS = (RedisFailure, OSError, TimeoutError)


class BackendUnavailable(Exception):
    """PostgreSQL or Redis failed; ``reason`` is the condition reason to report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


_GENERIC = {
    "DatabaseUnavailable": "PostgreSQL is unreachable or failing; retrying",
    "CacheUnavailable": "Redis is unreachable or failing; retrying",
}


def _unavailable(reason: str, exc: BaseException) -> BackendUnavailable:
    """The error in full goes to the log; status and Events (readable by every
    tenant of the namespace) get the stable reason and a generic message."""
    log.warning("backend failure", extra={"reason": reason, "error": repr(exc)})
    return BackendUnavailable(reason, _GENERIC[reason])


@dataclass(frozen=True, slots=True)
class Password:
    """A plain password from a Secret, and what is already known to hash it."""

    plain: str
    known_digest: str | None = None
    known_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    link: Link
    change: Literal["created", "updated", "unchanged"]
    password_digest: str | None


@dataclass(frozen=True, slots=True)
class Conflict:
    code: str
    message: str


def _conflict(ref: ObjectRef, code: str, holder: ManagedRow) -> Conflict:
    """The holder goes to the log only: status and Events are the tenant's to read."""
    log.info(
        "code held by another",
        extra={
            "object": ref.key,
            "code": code,
            "holder": holder.managed_by or "api",
            "holder_namespace_uid": holder.namespace_uid,
        },
    )
    return Conflict(code, conflict_message(code, holder))


@contextmanager
def _acting_for(ref: ObjectRef) -> Iterator[None]:
    """Audit entries of the writes within name the operator, for this ShortLink."""
    token = audit_context.set(AuditContext("operator", ref.key))
    try:
        yield
    finally:
        audit_context.reset(token)


class LinkSync:
    def __init__(
        self, repo: LinkRepository, cache: LinkCache, workspaces: WorkspaceRepository
    ) -> None:
        self._repo = repo
        self._cache = cache
        self._workspaces = workspaces

    async def apply(
        self,
        ref: ObjectRef,
        namespace_uid: str,
        desired: Desired,
        password: Password | None,
        remembered_code: str | None = None,
        workspace: str | None = None,
    ) -> Applied | Conflict:
        """Make the row match ``desired`` (never another owner's), then announce it.
        ``namespace_uid``: the UID of the namespace ``ref`` lives in (see
        reconcile.owns). ``remembered_code``: the code last served, should its row have
        vanished. ``workspace``: the slug the namespace is labelled with, which must
        exist. Raises InvalidSpec (ImmutableCode) or BackendUnavailable."""
        try:
            if workspace is not None and await self._workspaces.get(workspace) is None:
                raise BackendUnavailable("WorkspaceNotFound", unknown_workspace(workspace))
            with _acting_for(ref):
                outcome = await self._write(
                    ref, namespace_uid, desired, password, remembered_code, workspace
                )
        except _DATABASE_ERRORS as exc:
            raise _unavailable("DatabaseUnavailable", exc) from exc
        if isinstance(outcome, Applied):
            await self.announce(outcome.link)
        return outcome

    async def _write(
        self,
        ref: ObjectRef,
        namespace_uid: str,
        desired: Desired,
        password: Password | None,
        remembered_code: str | None,
        workspace: str | None,
    ) -> Applied | Conflict:
        owned = await self._repo.managed_code(ref.key, namespace_uid)
        code = choose_code(desired.code, owned, remembered_code)
        password_hash = await self._password_hash(ref, namespace_uid, code, password)
        digest = password_digest(password.plain) if password else None
        new = desired.new_link(password_hash, workspace)
        if code is None:
            generated = await self._insert_generated(ref, namespace_uid, new, desired.active)
            return Applied(generated, "created", digest)
        async with self._repo.transaction() as tx:
            row = await tx.find_row(code, lock=True)
            action = plan_write(row, ref.key, namespace_uid, new, desired.active)
            if action == "unchanged" and row is not None:
                return Applied(row.link, "unchanged", digest)
            if action == "conflict" and row is not None:
                return _conflict(ref, code, row)
            write = tx.update_managed if action == "update" else tx.insert_managed
            link = await write(code, new, desired.active, ref.key, ref.uid, namespace_uid)
            if link is None:  # another writer committed this code meanwhile
                holder = await tx.find_row(code)
                if holder is None:  # codes are never freed: a conflicting row stays
                    raise RuntimeError(f"code {code!r} was taken, yet no row holds it")
                return _conflict(ref, code, holder)
        return Applied(link, "updated" if action == "update" else "created", digest)

    async def _insert_generated(
        self, ref: ObjectRef, namespace_uid: str, new: NewLink, active: bool
    ) -> Link:
        for _ in range(_CODE_ATTEMPTS):
            link = await self._repo.insert_managed(
                generate_code(), new, active, ref.key, ref.uid, namespace_uid
            )
            if link is not None:
                return link
        raise RuntimeError("could not find a free short code")

    async def _password_hash(
        self, ref: ObjectRef, namespace_uid: str, code: str | None, password: Password | None
    ) -> str | None:
        """A bcrypt hash of the password, reusing the stored one while the password is
        unchanged: a fresh salt would change the hash, and with it revoke every unlock
        token already issued."""
        if password is None:
            return None
        if password.known_hash and password.known_digest == password_digest(password.plain):
            return password.known_hash
        row = await self._repo.find_row(code) if code is not None else None
        stored = row.link.password_hash if row and owns(row, ref.key, namespace_uid) else None
        if stored is not None:
            same = await HASHER.check(password.plain, stored)
            if same:
                return stored
        return await HASHER.hash(password.plain)

    async def remove(self, ref: ObjectRef, namespace_uid: str) -> list[str]:
        """Delete the resource's links (codes stay reserved for it, in that namespace);
        returns the codes."""
        try:
            with _acting_for(ref):
                codes = await self._repo.soft_delete_managed(ref.key, namespace_uid)
        except _DATABASE_ERRORS as exc:
            raise _unavailable("DatabaseUnavailable", exc) from exc
        try:
            await self._cache.invalidate(codes)
        except _CACHE_ERRORS as exc:
            raise _unavailable("CacheUnavailable", exc) from exc
        return codes

    async def announce(self, link: Link) -> None:
        """Cache a servable link (SET + publish), or drop an unservable one (delete,
        fence, publish): the API's writer paths, so redirectors hear of it at once."""
        destination = destination_of(link)
        try:
            if destination is None:
                await self._cache.invalidate([link.code])
            else:
                await self._cache.store([(link.code, destination)])
        except _CACHE_ERRORS as exc:
            raise _unavailable("CacheUnavailable", exc) from exc

    # -- for the drift check --------------------------------------------------------

    async def rows(self, codes: list[str]) -> dict[str, ManagedRow]:
        try:
            return {row.link.code: row for row in await self._repo.find_rows(codes)}
        except _DATABASE_ERRORS as exc:
            raise _unavailable("DatabaseUnavailable", exc) from exc

    async def cached(self, code: str) -> Destination | object | None:
        """The cache's entry: a Destination, None (negative) or MISS."""
        try:
            return await self._cache.get(code)
        except _CACHE_ERRORS as exc:
            raise _unavailable("CacheUnavailable", exc) from exc
