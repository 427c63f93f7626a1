"""Workspaces and their members in PostgreSQL. Every write runs where ``audited`` says,
so its audit entry names the caller."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shortlink.adapters.audit import Executor, audited, audited_transaction
from shortlink.domain.workspaces import Member, Role, Workspace

_WORKSPACE_COLUMNS = "slug, name, audit_retention_days, created_at, click_retention_days"
_MEMBER_COLUMNS = "workspace, subject, role, added_at"


def _workspace(row: asyncpg.Record) -> Workspace:
    return Workspace(**dict(row.items()))


def _member(row: asyncpg.Record) -> Member:
    fields = dict(row.items())
    return Member(**{**fields, "role": Role.parse(fields["role"])})


class WorkspaceRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def get(self, slug: str) -> Workspace | None:
        row = await self._db.fetchrow(
            f"SELECT {_WORKSPACE_COLUMNS} FROM workspaces WHERE slug = $1", slug
        )
        return _workspace(row) if row else None

    async def find(self, slugs: Sequence[str] | None) -> list[Workspace]:
        """The workspaces named (all of them when ``slugs`` is None), by slug."""
        rows = await self._db.fetch(
            f"""SELECT {_WORKSPACE_COLUMNS} FROM workspaces
                WHERE $1::text[] IS NULL OR slug = ANY($1::text[]) ORDER BY slug""",
            None if slugs is None else list(slugs),
        )
        return [_workspace(row) for row in rows]

    async def create(self, slug: str, name: str) -> Workspace | None:
        """None if the slug is taken."""
        async with audited(self._db) as db:
            row = await db.fetchrow(
                f"""INSERT INTO workspaces (slug, name) VALUES ($1, $2)
                    ON CONFLICT (slug) DO NOTHING RETURNING {_WORKSPACE_COLUMNS}""",
                slug,
                name,
            )
        return _workspace(row) if row else None

    async def update(
        self,
        slug: str,
        name: str | None,
        audit_retention_days: int | None,
        click_retention_days: int | None = None,
    ) -> Workspace | None:
        async with audited(self._db) as db:
            row = await db.fetchrow(
                f"""UPDATE workspaces SET name = coalesce($2, name),
                           audit_retention_days = coalesce($3, audit_retention_days),
                           click_retention_days = coalesce($4, click_retention_days)
                    WHERE slug = $1 RETURNING {_WORKSPACE_COLUMNS}""",
                slug,
                name,
                audit_retention_days,
                click_retention_days,
            )
        return _workspace(row) if row else None

    async def click_retentions(self) -> dict[str, int]:
        """slug -> click retention days, of the workspaces that have one."""
        rows = await self._db.fetch(
            "SELECT slug, click_retention_days FROM workspaces WHERE click_retention_days > 0"
        )
        return {str(row["slug"]): int(row["click_retention_days"]) for row in rows}

    async def members(self, slug: str) -> list[Member]:
        rows = await self._db.fetch(
            f"""SELECT {_MEMBER_COLUMNS} FROM workspace_members
                WHERE workspace = $1 ORDER BY subject""",
            slug,
        )
        return [_member(row) for row in rows]

    async def memberships(self, subject: str) -> list[Member]:
        """Every workspace ``subject`` is a member of."""
        rows = await self._db.fetch(
            f"""SELECT {_MEMBER_COLUMNS} FROM workspace_members
                WHERE subject = $1 ORDER BY workspace""",
            subject,
        )
        return [_member(row) for row in rows]

    async def put_member(self, slug: str, subject: str, role: Role) -> tuple[Member | None, Member]:
        """Add ``subject`` with ``role``, or change their role: (before, after).
        LastOwner (nothing changed) if the members would be left without an owner."""
        async with audited_transaction(self._db) as tx:
            await _lock_members(tx, slug)
            before = await tx.fetchrow(
                f"""SELECT {_MEMBER_COLUMNS} FROM workspace_members
                    WHERE workspace = $1 AND subject = $2""",
                slug,
                subject,
            )
            after = await tx.fetchrow(
                f"""INSERT INTO workspace_members (workspace, subject, role) VALUES ($1, $2, $3)
                    ON CONFLICT (workspace, subject) DO UPDATE SET role = excluded.role
                    RETURNING {_MEMBER_COLUMNS}""",
                slug,
                subject,
                role.label,
            )
            await _require_an_owner(tx, slug, before)
        assert after is not None  # an upsert always returns its row
        return (_member(before) if before else None), _member(after)

    async def remove_member(self, slug: str, subject: str) -> Member | None:
        """The member removed; None if there was none. LastOwner (nothing changed) to
        remove the last owner of a workspace that has other members."""
        async with audited_transaction(self._db) as tx:
            await _lock_members(tx, slug)
            row = await tx.fetchrow(
                f"""DELETE FROM workspace_members WHERE workspace = $1 AND subject = $2
                    RETURNING {_MEMBER_COLUMNS}""",
                slug,
                subject,
            )
            await _require_an_owner(tx, slug, row)
        return _member(row) if row else None


class LastOwner(Exception):
    """The change would leave a workspace's members without an owner; rolled back."""


async def _lock_members(tx: Executor, slug: str) -> None:
    """Member changes of one workspace, one at a time: two admins demoting its last
    two owners at once can't both succeed."""
    await tx.execute("SELECT 1 FROM workspaces WHERE slug = $1 FOR UPDATE", slug)


async def _require_an_owner(tx: Executor, slug: str, changed: asyncpg.Record | None) -> None:
    """LastOwner if ``changed`` was an owner and the remaining members have none."""
    if changed is None or changed["role"] != Role.OWNER.label:
        return
    roles = {row["role"] for row in await tx.fetch(
        "SELECT DISTINCT role FROM workspace_members WHERE workspace = $1", slug
    )}  # fmt: skip
    if roles and Role.OWNER.label not in roles:
        raise LastOwner()
