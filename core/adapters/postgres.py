"""asyncpg adapter: link and API-key storage. SQL lives here and nowhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shortlink.domain.api_keys import ApiKey
from shortlink.domain.links import Link, NewLink

_LINK_COLUMNS = (
    "code, target, owner, is_custom_alias, password_hash, expires_at, redirect_type,"
    " is_active, created_at, updated_at"
)
# Columns PATCH may change; anything else is a programming error, not user input.
_UPDATABLE = frozenset({"target", "expires_at", "password_hash", "is_active", "redirect_type"})

Executor = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy


async def create_pool(dsn: str, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=10)


def _link(row: asyncpg.Record) -> Link:
    return Link(**dict(row.items()))  # _LINK_COLUMNS are Link's fields


class LinkRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LinkRepository]:
        """A repository bound to one connection inside one transaction."""
        if not isinstance(self._db, asyncpg.Pool):
            async with self._db.transaction():
                yield self
            return
        async with self._db.acquire() as conn, conn.transaction():
            yield LinkRepository(conn)

    async def insert(self, link: NewLink, code: str) -> Link | None:
        """Insert under ``code``; None if the code is taken (the unique index decides)."""
        row = await self._db.fetchrow(
            f"""INSERT INTO links (code, target, owner, is_custom_alias, password_hash,
                                   expires_at, redirect_type)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (code) DO NOTHING
                RETURNING {_LINK_COLUMNS}""",
            code,
            link.target,
            link.owner,
            link.code is not None,
            link.password_hash,
            link.expires_at,
            link.redirect_type,
        )
        return _link(row) if row else None

    async def insert_many(self, items: Sequence[tuple[str, NewLink]]) -> list[Link]:
        """One multi-row INSERT for all (code, link) pairs; returns those that got their code."""
        rows = await self._db.fetch(
            f"""INSERT INTO links (code, target, owner, is_custom_alias, password_hash,
                                   expires_at, redirect_type)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[],
                                     $5::text[], $6::timestamptz[], $7::smallint[])
                ON CONFLICT (code) DO NOTHING
                RETURNING {_LINK_COLUMNS}""",
            [code for code, _ in items],
            [link.target for _, link in items],
            [link.owner for _, link in items],
            [link.code is not None for _, link in items],
            [link.password_hash for _, link in items],
            [link.expires_at for _, link in items],
            [link.redirect_type for _, link in items],
        )
        return [_link(row) for row in rows]

    async def get(self, code: str) -> Link | None:
        row = await self._db.fetchrow(
            f"SELECT {_LINK_COLUMNS} FROM links WHERE code = $1 AND deleted_at IS NULL", code
        )
        return _link(row) if row else None

    async def taken(self, codes: Iterable[str]) -> set[str]:
        """Which of ``codes`` exist, deleted ones included (codes are never reused)."""
        rows = await self._db.fetch(
            "SELECT code FROM links WHERE code = ANY($1::text[])", list(codes)
        )
        return {row["code"] for row in rows}

    async def list_by_owner(
        self, owner: str, limit: int, after: tuple[datetime, str] | None
    ) -> list[Link]:
        """Newest first; ``after`` is the (created_at, code) of the last item already seen."""
        if after is None:
            rows = await self._db.fetch(
                f"""SELECT {_LINK_COLUMNS} FROM links
                    WHERE owner = $1 AND deleted_at IS NULL
                    ORDER BY created_at DESC, code DESC LIMIT $2""",
                owner,
                limit,
            )
        else:
            rows = await self._db.fetch(
                f"""SELECT {_LINK_COLUMNS} FROM links
                    WHERE owner = $1 AND deleted_at IS NULL AND (created_at, code) < ($3, $4)
                    ORDER BY created_at DESC, code DESC LIMIT $2""",
                owner,
                limit,
                after[0],
                after[1],
            )
        return [_link(row) for row in rows]

    async def update(self, code: str, owner: str, changes: dict[str, Any]) -> Link | None:
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        columns = sorted(changes)
        assignments = ", ".join(f"{col} = ${i}" for i, col in enumerate(columns, start=3))
        row = await self._db.fetchrow(
            f"""UPDATE links SET {assignments}, updated_at = now()
                WHERE code = $1 AND owner = $2 AND deleted_at IS NULL
                RETURNING {_LINK_COLUMNS}""",
            code,
            owner,
            *(changes[col] for col in columns),
        )
        return _link(row) if row else None

    async def soft_delete(self, code: str, owner: str) -> bool:
        status = await self._db.execute(
            """UPDATE links SET deleted_at = now(), updated_at = now()
               WHERE code = $1 AND owner = $2 AND deleted_at IS NULL""",
            code,
            owner,
        )
        return status == "UPDATE 1"


def _api_key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(**dict(row.items()))  # _KEY_COLUMNS are ApiKey's fields


_KEY_COLUMNS = "id, prefix, name, owner, is_admin, created_at, revoked_at"


class ApiKeyRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def find_active(self, key_hash: bytes) -> ApiKey | None:
        row = await self._db.fetchrow(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
            key_hash,
        )
        return _api_key(row) if row else None

    async def create(
        self, key_hash: bytes, prefix: str, name: str, owner: str, is_admin: bool
    ) -> ApiKey | None:
        """None when this exact key already exists (idempotent initial-key bootstrap)."""
        row = await self._db.fetchrow(
            f"""INSERT INTO api_keys (key_hash, prefix, name, owner, is_admin)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (key_hash) DO NOTHING
                RETURNING {_KEY_COLUMNS}""",
            key_hash,
            prefix,
            name,
            owner,
            is_admin,
        )
        return _api_key(row) if row else None

    async def list(self, owner: str | None) -> list[ApiKey]:
        """Every key of ``owner``, or of everyone when ``owner`` is None."""
        rows = await self._db.fetch(
            f"""SELECT {_KEY_COLUMNS} FROM api_keys
                WHERE $1::text IS NULL OR owner = $1 ORDER BY id""",
            owner,
        )
        return [_api_key(row) for row in rows]

    async def revoke(self, key_id: int, owner: str | None) -> ApiKey | None:
        row = await self._db.fetchrow(
            f"""UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
                WHERE id = $1 AND ($2::text IS NULL OR owner = $2)
                RETURNING {_KEY_COLUMNS}""",
            key_id,
            owner,
        )
        return _api_key(row) if row else None
