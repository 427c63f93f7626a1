"""The audit log in PostgreSQL: the context writing transactions carry, and its reads.

The log is written by triggers (migration 0007) from settings local to the writing
transaction. ``audit_context`` holds who the current request (asyncio task) acts as;
``audited`` opens a transaction that carries it, so a change and its entry commit
together. Without a context (the CLI, a DBA) the database role is recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shortlink.domain.audit import AuditContext, AuditEntry, AuditFilter

Executor = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy
Connection = asyncpg.Connection | PoolConnectionProxy

audit_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)

_APPLY = """SELECT set_config('shortlink.actor_kind', $1, true),
                   set_config('shortlink.actor', $2, true),
                   set_config('shortlink.ip', $3, true),
                   set_config('shortlink.user_agent', $4, true),
                   set_config('shortlink.request_id', $5, true)"""


async def apply_context(conn: Connection, context: AuditContext) -> None:
    """Put ``context`` in ``conn``'s current transaction (it ends with it)."""
    await conn.execute(
        _APPLY,
        context.actor_kind,
        context.actor,
        context.ip or "",
        (context.user_agent or "")[:512],
        context.request_id or "",
    )


@asynccontextmanager
async def audited(db: Executor) -> AsyncIterator[Executor]:
    """Where to run a write so its audit entries name the current context: a pooled
    connection in a transaction carrying it, or ``db`` itself when there is no
    context or ``db`` is a connection already in a transaction (which has it)."""
    context = audit_context.get()
    if context is None or not isinstance(db, asyncpg.Pool):
        yield db
        return
    async with db.acquire() as conn, conn.transaction():
        await apply_context(conn, context)
        yield conn


@asynccontextmanager
async def audited_transaction(db: Executor, *, savepoint: bool = True) -> AsyncIterator[Connection]:
    """A connection in a transaction carrying the current context, if there is one.
    If ``db`` is a connection in a transaction already (which has the context): a
    savepoint in it, or without ``savepoint`` that transaction itself (two round trips
    fewer, for work that needs no partial rollback)."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            context = audit_context.get()
            if context is not None:
                await apply_context(conn, context)
            yield conn
        return
    if not savepoint and db.is_in_transaction():
        yield db
        return
    context = None if db.is_in_transaction() else audit_context.get()
    async with db.transaction():
        if context is not None:
            await apply_context(db, context)
        yield db


_COLUMNS = (
    "id, workspace, at, actor_kind, actor, action, target_type, target, outcome,"
    " before, after, ip, user_agent, request_id"
)


def _entry(row: asyncpg.Record | dict[str, Any]) -> AuditEntry:
    fields = dict(row.items())
    for name in ("before", "after"):
        if fields[name] is not None:
            fields[name] = json.loads(fields[name])
    return AuditEntry(**fields)


class AuditRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def find(
        self, workspace: str, query: AuditFilter, limit: int | None = None
    ) -> list[AuditEntry]:
        """Newest first (``limit`` of them, default the filter's page size), on the
        workspace's (or the target's) index range."""
        conditions = ["workspace = $1"]
        args: list[Any] = [workspace, query.limit if limit is None else limit]

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        for column, value in (
            ("target_type", query.target_type),
            ("target", query.target),
            ("actor", query.actor),
            ("action", query.action),
        ):
            if value is not None:
                conditions.append(f"{column} = {arg(value)}")
        if query.since is not None:
            conditions.append(f"at >= {arg(query.since)}")
        if query.until is not None:
            conditions.append(f"at < {arg(query.until)}")
        if query.before_id is not None:
            conditions.append(f"id < {arg(query.before_id)}")
        rows = await self._db.fetch(
            f"""SELECT {_COLUMNS} FROM audit_log WHERE {" AND ".join(conditions)}
                ORDER BY id DESC LIMIT $2""",
            *args,
        )
        return [_entry(row) for row in rows]

    async def record(
        self,
        workspace: str,
        context: AuditContext | None,
        action: str,
        target_type: str,
        target: str,
        after: dict[str, Any],
    ) -> None:
        """A change made outside PostgreSQL (no trigger sees it: erasing clicks in
        ClickHouse), by ``context`` (None: the database role, as the triggers do)."""
        await self._db.execute(
            """INSERT INTO audit_log (workspace, actor_kind, actor, action, target_type, target,
                                      after, ip, user_agent, request_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)""",
            workspace,
            context.actor_kind if context else "system",
            context.actor if context else "system",
            action,
            target_type,
            target,
            json.dumps(after),
            context.ip if context else None,
            ((context.user_agent or "")[:512] or None) if context else None,
            context.request_id if context else None,
        )

    async def record_denied(
        self, workspace: str, context: AuditContext, action: str, target_type: str, target: str
    ) -> None:
        """An attempt the caller's role did not allow (nothing else was written)."""
        await self._db.execute(
            """INSERT INTO audit_log (workspace, actor_kind, actor, action, target_type, target,
                                      outcome, ip, user_agent, request_id)
               VALUES ($1, $2, $3, $4, $5, $6, 'denied', $7, $8, $9)""",
            workspace,
            context.actor_kind,
            context.actor,
            action,
            target_type,
            target,
            context.ip,
            (context.user_agent or "")[:512] or None,
            context.request_id,
        )


_RELAY_PENDING = f"""SELECT {_COLUMNS}, txid::text AS txid FROM audit_log
    WHERE (txid, id) > ($1::text::xid8, $2) AND txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY txid, id LIMIT $3"""


class AuditOutbox:
    """The log as the bus's outbox: its entries not yet published, and retention."""

    def __init__(self, db: asyncpg.Pool) -> None:
        self._db = db

    async def relay_batch(
        self, send: Callable[[list[AuditEntry]], Awaitable[None]], limit: int
    ) -> int:
        """Publish the next entries (at most ``limit``) with ``send`` and record how far the
        log went out; returns how many. 0 also when another process holds the relay. If
        ``send`` fails nothing is recorded, so the same entries go out again (at least once,
        in (txid, id) order; consumers deduplicate by id)."""
        async with self._db.acquire() as conn, conn.transaction():
            position = await conn.fetchrow(
                "SELECT last_txid::text AS txid, last_id FROM audit_relay FOR UPDATE SKIP LOCKED"
            )
            if position is None:
                return 0
            rows = await conn.fetch(_RELAY_PENDING, position["txid"], position["last_id"], limit)
            if not rows:
                return 0
            await send([_entry(_without_txid(row)) for row in rows])
            await conn.execute(
                "UPDATE audit_relay SET last_txid = $1::text::xid8, last_id = $2",
                rows[-1]["txid"],
                rows[-1]["id"],
            )
            return len(rows)

    async def expire(self, limit: int) -> int:
        """Delete up to ``limit`` entries past their workspace's retention (the only ones
        the log's trigger lets go); returns how many."""
        status = await self._db.execute(
            """DELETE FROM audit_log WHERE id IN (
                   SELECT a.id FROM audit_log a LEFT JOIN workspaces w ON w.slug = a.workspace
                    WHERE a.at < now()
                                 - make_interval(days => coalesce(w.audit_retention_days, 400))
                    LIMIT $1)""",
            limit,
        )
        return int(status.split()[-1])


def _without_txid(row: asyncpg.Record) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "txid"}
