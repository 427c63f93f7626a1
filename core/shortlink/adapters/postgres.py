"""asyncpg adapter: link and API-key storage (workspaces: adapters/workspaces.py, the audit
log: adapters/audit.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shortlink.adapters.audit import audited, audited_transaction
from shortlink.domain.api_keys import ApiKey
from shortlink.domain.idempotency import StoredResponse
from shortlink.domain.link_listing import EVERY_LINK, LinkFilter, like_pattern
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import NO_OPTIONS, LinkOptions, options_document
from shortlink.domain.links import Link, ManagedRow, NewLink
from shortlink.domain.urls import UrlPolicy
from shortlink.domain.workspaces import Role

_LINK_COLUMNS = (
    "code, target, owner, is_custom_alias, password_hash, expires_at, redirect_type,"
    " is_active, created_at, updated_at, options, managed_by"
)
# Columns PATCH may change; anything else is a programming error, not user input.
_UPDATABLE = frozenset(
    {"target", "expires_at", "password_hash", "is_active", "redirect_type", "options"}
)
# Stored documents were validated when written; reading them back doesn't re-check
# targets against today's blocklist (a link's own target isn't either).
_STORED = UrlPolicy()

_STATUS_CONDITIONS = {
    "active": "is_active AND (expires_at IS NULL OR expires_at > {now})",
    "expired": "expires_at <= {now}",
    "inactive": "NOT is_active",
    "protected": "password_hash IS NOT NULL",
}

Executor = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy


# The longest any statement may run (the pool's command_timeout, in
# adapters/database.py); the cache's writer fence outlasts it.
COMMAND_TIMEOUT_SECONDS = 10.0


def options_json(options: LinkOptions) -> str | None:
    """The options column's value: NULL for a link without any."""
    return None if options == NO_OPTIONS else json.dumps(options_document(options))


def _options(raw: str | None) -> LinkOptions:
    return NO_OPTIONS if raw is None else parse_link_options(json.loads(raw), _STORED)


async def await_durable(db: Executor) -> None:
    """Make this transaction's commit wait for what it read to be durable: a row an
    earlier try committed may sit on the primary alone (its connection died before the
    synchronous standby confirmed, or the primary restarted), and a transaction that
    only reads commits without waiting. A transactional WAL record gives the commit an
    LSN past that row, and the commit waits for a synchronous standby to hold it."""
    await db.execute("SELECT pg_logical_emit_message(true, 'shortlink', 'durable read')")


def _link(row: asyncpg.Record) -> Link:
    # _LINK_COLUMNS are Link's fields (insert's rows also say whether they are `fresh`)
    fields = {name: value for name, value in row.items() if name != "fresh"}
    fields["options"] = _options(fields["options"])
    return Link(**fields)


_MANAGED_COLUMNS = f"{_LINK_COLUMNS}, deleted_at IS NOT NULL AS deleted, managed_namespace_uid"


def _managed(row: asyncpg.Record) -> ManagedRow:
    fields = dict(row.items())
    managed_by, deleted = fields["managed_by"], fields.pop("deleted")
    namespace_uid = fields.pop("managed_namespace_uid")
    fields["options"] = _options(fields["options"])
    return ManagedRow(Link(**fields), managed_by, deleted, namespace_uid)


class LinkRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LinkRepository]:
        """A repository bound to one connection inside one transaction."""
        if not isinstance(self._db, asyncpg.Pool):
            async with audited_transaction(self._db):
                yield self
            return
        async with audited_transaction(self._db) as conn:
            yield LinkRepository(conn)

    async def insert(self, link: NewLink, code: str, token: UUID) -> Link | None:
        """Insert under ``code``, created by request ``token``; None if the code is
        another's (the unique index decides). A row already there with our token is
        returned: an earlier try of this request committed it, maybe on the primary
        alone (see ``await_durable``)."""
        async with audited_transaction(self._db, savepoint=False) as db:
            row = await db.fetchrow(
                f"""WITH inserted AS (
                    INSERT INTO links (code, target, owner, is_custom_alias, password_hash,
                                       expires_at, redirect_type, creation_token, options)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
                    ON CONFLICT (code) DO NOTHING
                    RETURNING {_LINK_COLUMNS})
                SELECT *, true AS fresh FROM inserted
                UNION ALL
                SELECT {_LINK_COLUMNS}, false FROM links WHERE code = $1 AND creation_token = $8
                LIMIT 1""",
                code,
                link.target,
                link.owner,
                link.code is not None,
                link.password_hash,
                link.expires_at,
                link.redirect_type,
                token,
                options_json(link.options),
            )
            if row is not None and not row["fresh"]:
                await await_durable(db)
        return _link(row) if row else None

    async def insert_many(self, items: Sequence[tuple[str, NewLink]], token: UUID) -> list[Link]:
        """One multi-row INSERT for all (code, link) pairs, created by request
        ``token``; returns those that got their code."""
        rows = await self._db.fetch(
            f"""INSERT INTO links (code, target, owner, is_custom_alias, password_hash,
                                   expires_at, redirect_type, options, creation_token)
                SELECT *, $8::uuid FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[],
                                     $5::text[], $6::timestamptz[], $7::smallint[],
                                     $9::jsonb[])
                ON CONFLICT (code) DO NOTHING
                RETURNING {_LINK_COLUMNS}""",
            [code for code, _ in items],
            [link.target for _, link in items],
            [link.owner for _, link in items],
            [link.code is not None for _, link in items],
            [link.password_hash for _, link in items],
            [link.expires_at for _, link in items],
            [link.redirect_type for _, link in items],
            token,
            [options_json(link.options) for _, link in items],
        )
        return [_link(row) for row in rows]

    async def created_by(self, token: UUID) -> list[Link]:
        """The links request ``token`` created (an earlier, committed try of it,
        answered only once durable: ``await_durable``)."""
        async with audited_transaction(self._db, savepoint=False) as db:
            rows = await db.fetch(
                f"SELECT {_LINK_COLUMNS} FROM links WHERE creation_token = $1", token
            )
            if rows:
                await await_durable(db)
        return [_link(row) for row in rows]

    async def stored_response(self, owner: str, key: str, ttl: timedelta) -> StoredResponse | None:
        """The response stored under (owner, key) within ``ttl``, if any."""
        row = await self._db.fetchrow(
            """SELECT fingerprint, status, body FROM idempotency_keys
               WHERE owner = $1 AND key = $2 AND created_at > now() - $3::interval""",
            owner,
            key,
            ttl,
        )
        if row is None:
            return None
        await await_durable(self._db)  # a replay answers only with a durable response
        return StoredResponse(row["fingerprint"], row["status"], json.loads(row["body"]))

    async def store_response(
        self, owner: str, key: str, response: StoredResponse, ttl: timedelta
    ) -> bool:
        """Store the response under (owner, key); False if another transaction holds
        the key (PostgreSQL makes this INSERT wait until that one commits or rolls
        back). Expired rows, this key's and up to 100 others, are deleted first."""
        await self._db.execute(
            """DELETE FROM idempotency_keys
               WHERE created_at <= now() - $3::interval
                 AND ((owner = $1 AND key = $2) OR ctid IN (
                     SELECT ctid FROM idempotency_keys
                     WHERE created_at <= now() - $3::interval LIMIT 100))""",
            owner,
            key,
            ttl,
        )
        stored = await self._db.fetchval(
            """INSERT INTO idempotency_keys (owner, key, fingerprint, status, body)
               VALUES ($1, $2, $3, $4, $5::jsonb)
               ON CONFLICT (owner, key) DO NOTHING
               RETURNING true""",
            owner,
            key,
            response.fingerprint,
            response.status,
            json.dumps(response.body),
        )
        return bool(stored)

    async def get(self, code: str, *, lock: bool = False) -> Link | None:
        """``lock`` (inside a transaction): held until commit, for a read-modify-write."""
        row = await self._db.fetchrow(
            f"SELECT {_LINK_COLUMNS} FROM links WHERE code = $1 AND deleted_at IS NULL"
            + (" FOR UPDATE" if lock else ""),
            code,
        )
        return _link(row) if row else None

    async def taken(self, codes: Iterable[str]) -> set[str]:
        """Which of ``codes`` exist, deleted ones included (codes are never reused)."""
        rows = await self._db.fetch(
            "SELECT code FROM links WHERE code = ANY($1::text[])", list(codes)
        )
        return {row["code"] for row in rows}

    async def list_by_owner(
        self,
        owner: str,
        limit: int,
        after: tuple[datetime, str] | None,
        query: LinkFilter = EVERY_LINK,
        now: datetime | None = None,
    ) -> list[Link]:
        """One page in ``query``'s order; ``after`` is the (created_at, code) of the
        last item already seen. Filters run in SQL on the owner's index range."""
        conditions = ["owner = $1", "deleted_at IS NULL"]
        args: list[Any] = [owner, limit]

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if query.search:
            pattern = arg(like_pattern(query.search))
            conditions.append(f"(code ILIKE {pattern} OR target ILIKE {pattern})")
        if query.tag is not None:
            conditions.append(f"(options -> 'tags') @> jsonb_build_array({arg(query.tag)}::text)")
        if query.folder is not None:
            folder = arg(query.folder)
            conditions.append(
                f"(options ->> 'folder' = {folder}"
                f" OR starts_with(options ->> 'folder', {folder} || '/'))"
            )
        if query.status != "all":
            condition = _STATUS_CONDITIONS[query.status]
            conditions.append(condition.format(now=arg(now)) if "{now}" in condition else condition)
        op = "<" if query.descending else ">"
        if after is not None:
            if query.by_code:
                conditions.append(f"code {op} {arg(after[1])}")
            else:
                conditions.append(f"(created_at, code) {op} ({arg(after[0])}, {arg(after[1])})")
        direction = "DESC" if query.descending else "ASC"
        order = (
            f"code {direction}" if query.by_code else f"created_at {direction}, code {direction}"
        )
        rows = await self._db.fetch(
            f"""SELECT {_LINK_COLUMNS} FROM links WHERE {" AND ".join(conditions)}
                ORDER BY {order} LIMIT $2""",
            *args,
        )
        return [_link(row) for row in rows]

    async def codes_of(self, owner: str) -> list[str]:
        """The codes of every link of ``owner`` (its workspace), deleted ones aside."""
        rows = await self._db.fetch(
            "SELECT code FROM links WHERE owner = $1 AND deleted_at IS NULL ORDER BY code", owner
        )
        return [row["code"] for row in rows]

    async def link_workspaces(self) -> list[tuple[str, str]]:
        """(code, workspace) of every link with a workspace, deleted ones aside (as
        ``codes_of``): what the whole-workspace click rollups group by."""
        rows = await self._db.fetch(
            "SELECT code, owner FROM links WHERE owner IS NOT NULL AND deleted_at IS NULL"
        )
        return [(row["code"], row["owner"]) for row in rows]

    async def update(self, code: str, owner: str, changes: dict[str, Any]) -> Link | None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        columns = sorted(changes)
        assignments = ", ".join(
            f"{col} = ${i}::jsonb" if col == "options" else f"{col} = ${i}"
            for i, col in enumerate(columns, start=3)
        )
        row = await self._db.fetchrow(
            f"""UPDATE links SET {assignments}, updated_at = now()
                WHERE code = $1 AND owner = $2 AND deleted_at IS NULL AND managed_by IS NULL
                RETURNING {_LINK_COLUMNS}""",
            code,
            owner,
            *(options_json(changes[col]) if col == "options" else changes[col] for col in columns),
        )
        return _link(row) if row else None

    async def soft_delete(self, code: str, owner: str) -> bool:
        status = await self._db.execute(
            """UPDATE links SET deleted_at = now(), updated_at = now()
               WHERE code = $1 AND owner = $2 AND deleted_at IS NULL AND managed_by IS NULL""",
            code,
            owner,
        )
        return status == "UPDATE 1"

    # -- click limits (domain/click_budget.py) -------------------------------------

    async def clicks_reserved(self, code: str) -> int:
        """Clicks PostgreSQL has let Redis serve for ``code`` (0 for no such link)."""
        value = await self._db.fetchval("SELECT clicks_reserved FROM links WHERE code = $1", code)
        return int(value or 0)

    async def reserve_clicks(self, code: str, seen: int, chunk: int) -> tuple[int, bool]:
        """Compare-and-set ``clicks_reserved`` from ``seen`` to ``seen + chunk``, never
        past the link's max_clicks: (the reservation now stored, whether we moved it)."""
        row = await self._db.fetchrow(
            """WITH moved AS (
                   UPDATE links
                      SET clicks_reserved = greatest(clicks_reserved, least(
                          coalesce((options ->> 'max_clicks')::bigint, 0), clicks_reserved + $3))
                    WHERE code = $1 AND clicks_reserved = $2
                   RETURNING clicks_reserved, true AS won)
               SELECT * FROM moved
               UNION ALL
               SELECT clicks_reserved, false FROM links WHERE code = $1
               LIMIT 1""",
            code,
            seen,
            chunk,
        )
        return (int(row["clicks_reserved"]), bool(row["won"])) if row else (seen, False)

    async def spend_click(self, code: str) -> bool:
        """One click counted in PostgreSQL itself (Redis is down): False when spent."""
        status = await self._db.execute(
            """UPDATE links SET clicks_reserved = clicks_reserved + 1
                WHERE code = $1
                  AND clicks_reserved < coalesce((options ->> 'max_clicks')::bigint, 0)""",
            code,
        )
        return status == "UPDATE 1"

    # -- links managed by the Kubernetes operator (one row per ShortLink resource) --

    async def find_row(self, code: str, *, lock: bool = False) -> ManagedRow | None:
        """The row holding ``code``, deleted or not; ``lock`` (inside a transaction)
        holds it until commit, so a decision on it can't be raced."""
        row = await self._db.fetchrow(
            f"SELECT {_MANAGED_COLUMNS} FROM links WHERE code = $1"
            + (" FOR UPDATE" if lock else ""),
            code,
        )
        return _managed(row) if row else None

    async def find_rows(self, codes: Sequence[str]) -> list[ManagedRow]:
        rows = await self._db.fetch(
            f"SELECT {_MANAGED_COLUMNS} FROM links WHERE code = ANY($1::text[])", list(codes)
        )
        return [_managed(row) for row in rows]

    # Rows of ``managed_by`` written in another namespace of that name (another UID)
    # are never matched below; NULL ones (from before UIDs were recorded) are adopted.

    async def managed_code(self, managed_by: str, namespace_uid: str) -> tuple[str, bool] | None:
        """(code, live) of the row ``managed_by`` in namespace ``namespace_uid`` wrote
        last, live rows first. Its rows without a namespace UID are adopted first (the
        UID recorded; updated_at kept, so the order is the same)."""
        row = await self._db.fetchrow(
            """WITH adopted AS (
                   UPDATE links SET managed_namespace_uid = $2
                    WHERE managed_by = $1 AND managed_namespace_uid IS NULL
                   RETURNING code, deleted_at, updated_at)
               SELECT code, deleted_at IS NULL AS live FROM (
                   SELECT code, deleted_at, updated_at FROM links
                    WHERE managed_by = $1 AND managed_namespace_uid = $2
                   UNION ALL
                   SELECT * FROM adopted) AS ours
               ORDER BY deleted_at IS NULL DESC, updated_at DESC LIMIT 1""",
            managed_by,
            namespace_uid,
        )
        return (row["code"], row["live"]) if row else None

    async def insert_managed(
        self,
        code: str,
        link: NewLink,
        is_active: bool,
        managed_by: str,
        managed_uid: str,
        namespace_uid: str,
    ) -> Link | None:
        """Insert under ``code`` for ``managed_by``; None if the code is taken."""
        async with audited(self._db) as db:
            row = await db.fetchrow(
                f"""INSERT INTO links (code, target, owner, is_custom_alias, password_hash,
                                   expires_at, redirect_type, is_active, managed_by, managed_uid,
                                   managed_namespace_uid, options)
                VALUES ($1, $2, $12, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
                ON CONFLICT (code) DO NOTHING
                RETURNING {_LINK_COLUMNS}""",
                code,
                link.target,
                link.code is not None,
                link.password_hash,
                link.expires_at,
                link.redirect_type,
                is_active,
                managed_by,
                managed_uid,
                namespace_uid,
                options_json(link.options),
                link.owner,
            )
        return _link(row) if row else None

    async def update_managed(
        self,
        code: str,
        link: NewLink,
        is_active: bool,
        managed_by: str,
        managed_uid: str,
        namespace_uid: str,
    ) -> Link | None:
        """Rewrite (and undelete) ``code``, only if ``managed_by`` in namespace
        ``namespace_uid`` manages it (or a row without a namespace UID: adopted)."""
        row = await self._db.fetchrow(
            f"""UPDATE links SET target = $3, password_hash = $4, expires_at = $5,
                       redirect_type = $6, is_active = $7, managed_uid = $8,
                       managed_namespace_uid = $9, deleted_at = NULL, updated_at = now(),
                       options = $10::jsonb, owner = $11
                WHERE code = $1 AND managed_by = $2
                  AND (managed_namespace_uid = $9 OR managed_namespace_uid IS NULL)
                RETURNING {_LINK_COLUMNS}""",
            code,
            managed_by,
            link.target,
            link.password_hash,
            link.expires_at,
            link.redirect_type,
            is_active,
            managed_uid,
            namespace_uid,
            options_json(link.options),
            link.owner,
        )
        return _link(row) if row else None

    async def soft_delete_managed(self, managed_by: str, namespace_uid: str) -> list[str]:
        """Delete every live link ``managed_by`` in namespace ``namespace_uid`` manages
        (adopting those without a namespace UID); returns their codes. The codes stay
        reserved for it: a re-created resource of that name in that namespace gets
        them back."""
        async with audited(self._db) as db:
            rows = await db.fetch(
                """UPDATE links SET deleted_at = now(), updated_at = now(),
                      managed_namespace_uid = $2
               WHERE managed_by = $1 AND deleted_at IS NULL
                 AND (managed_namespace_uid = $2 OR managed_namespace_uid IS NULL)
               RETURNING code""",
                managed_by,
                namespace_uid,
            )
        return [row["code"] for row in rows]


def _api_key(row: asyncpg.Record) -> ApiKey:
    fields = dict(row.items())  # _KEY_COLUMNS are ApiKey's fields
    return ApiKey(**{**fields, "role": Role.parse(fields["role"])})


_KEY_COLUMNS = "id, prefix, name, owner, is_admin, created_at, revoked_at, created_by, role"


class ApiKeyRepository:
    """Keys of workspaces (a key's ``owner`` is its workspace's slug)."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def find_active(self, key_hash: bytes) -> ApiKey | None:
        row = await self._db.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            key_hash,
        )
        return _api_key(row) if row else None

    async def create(
        self,
        key_hash: bytes,
        prefix: str,
        name: str,
        owner: str,
        is_admin: bool,
        created_by: int | None = None,
        role: Role = Role.ADMIN,
    ) -> ApiKey | None:
        """None when this exact key already exists (idempotent initial-key bootstrap).
        The workspace ``owner`` is made if it does not exist yet (named after it)."""
        async with audited_transaction(self._db) as db:
            await db.execute(
                "INSERT INTO workspaces (slug, name) VALUES ($1, $1) ON CONFLICT DO NOTHING",
                owner,
            )
            row = await db.fetchrow(
                f"""INSERT INTO api_keys (key_hash, prefix, name, owner, is_admin, created_by, role)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (key_hash) DO NOTHING
                    RETURNING {_KEY_COLUMNS}""",
                key_hash,
                prefix,
                name,
                owner,
                is_admin,
                created_by,
                role.label,
            )
        return _api_key(row) if row else None

    async def list(self, owner: str | None) -> list[ApiKey]:
        """Every key of workspace ``owner``, or of every workspace when ``owner`` is None."""
        rows = await self._db.fetch(
            f"""SELECT {_KEY_COLUMNS} FROM api_keys
                WHERE $1::text IS NULL OR owner = $1 ORDER BY id""",
            owner,
        )
        return [_api_key(row) for row in rows]

    async def revoke(
        self, key_id: int, owner: str | None, up_to: Role = Role.OWNER
    ) -> Sequence[ApiKey]:
        """Revoke the key and every key it minted, transitively; the key comes first.
        ``owner`` (a workspace admin's) limits it to that workspace's keys that are not
        instance-admin keys and whose role is at most ``up_to``. Empty if there is no
        such key."""
        async with audited(self._db) as db:
            rows = await db.fetch(
                f"""WITH RECURSIVE lineage AS (
                        SELECT id FROM api_keys
                         WHERE id = $1 AND ($2::text IS NULL
                               OR (owner = $2 AND NOT is_admin AND role = ANY($3::text[])))
                        UNION
                        SELECT minted.id FROM api_keys minted
                          JOIN lineage ON minted.created_by = lineage.id
                    )
                    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
                     WHERE id IN (SELECT id FROM lineage)
                    RETURNING {_KEY_COLUMNS}""",
                key_id,
                owner,
                [role.label for role in Role if role <= up_to],
            )
        keys = [_api_key(row) for row in rows]
        return sorted(keys, key=lambda key: key.id != key_id)
