"""Cluster control for PostgreSQL failover: probe, fence, detach, promote, repoint.

Thin on purpose: every decision lives in ``shortlink.domain.failover``; here are the
SQL statements that carry them out, each on a fresh connection with a deadline (a
frozen server accepts TCP and then answers nothing: only a timeout notices).

Why the fence is safe (operator/README.md, "Fencing"): a fenced member has
``default_transaction_read_only = on`` (new sessions start read-only, so a
``target_session_attrs=read-write`` client skips it), ``synchronous_standby_names``
naming no real standby with ``synchronous_commit = on`` (a commit that still gets
through waits forever and is never acknowledged), and every client backend
terminated. Termination, not cancellation: a backend cancelled while waiting for a
synchronous standby reports its commit as done (patroni #1412), a terminated one
never answers. ALTER SYSTEM persists in postgresql.auto.conf, so a restart keeps
the member fenced until it rejoins as a standby.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from shortlink.adapters.pg_auth import scram_only
from shortlink.domain.failover import (
    FENCE_STANDBY_NAME,
    Member,
    Probe,
    Replica,
    parse_lsn,
    synchronous_names_setting,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
APPLICATION_NAME = "shortlink-operator"
_HEARTBEAT = """
INSERT INTO shortlink_heartbeat (id, beat_at) VALUES (1, now())
ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at
"""
_HEARTBEAT_TABLE = (
    "CREATE TABLE IF NOT EXISTS shortlink_heartbeat (id int PRIMARY KEY, beat_at timestamptz)"
)


# Our own statements must run on a fenced member too. Set after connecting, not as a
# startup parameter, so a probe still reads the server's own setting first.
_WRITABLE_SESSION = "SET default_transaction_read_only = off"


class ClusterControlError(Exception):
    """A control statement failed or timed out on a member."""


@dataclass(frozen=True, slots=True)
class Credentials:
    superuser: str
    superuser_password: str
    replication_user: str
    replication_password: str
    database: str = "postgres"
    # A CA (PEM) that signs every member's certificate: then connections use TLS and
    # check the member's name (verify-full) instead of the SCRAM-only relay.
    ca: str | None = None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def primary_conninfo(primary: Member, standby: Member, credentials: Credentials) -> str:
    """libpq conninfo a standby streams from ``primary`` with."""
    parts = {
        "host": primary.host,
        "port": str(primary.port),
        "user": credentials.replication_user,
        "application_name": standby.name,
        "connect_timeout": "2",
    }
    if credentials.replication_password:
        parts["password"] = credentials.replication_password
    return " ".join(f"{key}={_conninfo_value(value)}" for key, value in parts.items())


def parse_upstream(conninfo: str) -> tuple[str, int] | None:
    """(host, port) of a primary_conninfo ('' → None). Key=value form only, as written
    by this module and by pg_basebackup -R."""
    values: dict[str, str] = {}
    rest = conninfo.strip()
    while rest:
        key, _, rest = rest.partition("=")
        rest = rest.lstrip()
        if rest.startswith("'"):
            value, i = [], 1
            while i < len(rest) and rest[i] != "'":
                if rest[i] == "\\" and i + 1 < len(rest):
                    i += 1
                value.append(rest[i])
                i += 1
            values[key.strip()] = "".join(value)
            rest = rest[i + 1 :].lstrip()
        else:
            value_text, _, rest = rest.partition(" ")
            values[key.strip()] = value_text
            rest = rest.lstrip()
    host = values.get("host") or values.get("hostaddr")
    if not host:
        return None
    return host, int(values.get("port") or 5432)


class ClusterControl:
    """Statements on the members of one cluster, as the superuser."""

    def __init__(self, credentials: Credentials, timeout: float) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self._tls = _verified_tls(credentials.ca) if credentials.ca else None

    async def _on(
        self,
        member: Member,
        work: Callable[[asyncpg.Connection], Awaitable[T]],
        seconds: float | None = None,
        *,
        writable: bool = True,
    ) -> T:
        deadline = seconds or self.timeout

        async def run() -> T:
            # A member's host is whatever the PostgresCluster's author wrote: the
            # password goes only to a server that proves its name (TLS with the
            # cluster's CA) or through the relay that lets only SCRAM have it.
            if self._tls is not None:
                return await session(member.host, self._tls)
            async with scram_only(member.host, member.port) as relay:
                return await session(relay, None)

        async def session(host: str, tls: ssl.SSLContext | None) -> T:
            connection = await asyncpg.connect(
                host=host,
                port=member.port,
                ssl=tls,
                user=self.credentials.superuser,
                password=self.credentials.superuser_password or None,
                database=self.credentials.database,
                timeout=deadline,
                command_timeout=deadline,
                statement_cache_size=0,
                server_settings={
                    "application_name": APPLICATION_NAME,
                    "statement_timeout": str(int(deadline * 1000)),
                },
            )
            try:
                if writable:
                    await connection.execute(_WRITABLE_SESSION)
                return await work(connection)
            finally:
                connection.terminate()

        try:
            return await asyncio.wait_for(run(), deadline)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            what = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            raise ClusterControlError(f"{member.name}: {what}") from exc

    # -- probing ------------------------------------------------------------------

    async def probe(self, member: Member) -> Probe:
        try:
            return await self._on(member, lambda c: _probe(member.name, c), writable=False)
        except ClusterControlError as exc:
            return Probe(member.name, reachable=False, error=str(exc).split(": ", 1)[-1])

    async def current_lsn(self, member: Member) -> int | None:
        async def read(connection: asyncpg.Connection) -> int | None:
            row = await connection.fetchrow(
                "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()"
                " ELSE pg_current_wal_lsn() END::text AS lsn"
            )
            return parse_lsn(row["lsn"]) if row else None

        return await self._on(member, read)

    # -- actions ------------------------------------------------------------------

    async def fence(self, member: Member, *, cut_replication: bool) -> None:
        """Stop ``member`` acknowledging writes for good (see the module docstring).
        ``cut_replication`` also ends its WAL senders (a failover: nothing it writes
        now may reach a standby); a switchover keeps them so the target catches up."""

        async def run(connection: asyncpg.Connection) -> None:
            await _alter_system(
                connection,
                {
                    "default_transaction_read_only": "on",
                    "synchronous_standby_names": FENCE_STANDBY_NAME,
                    "synchronous_commit": "on",
                },
            )
            await connection.execute("SELECT pg_reload_conf()")
            kinds = ["client backend", *(["walsender"] if cut_replication else [])]
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND backend_type = ANY($1::text[])",
                kinds,
            )

        await self._on(member, run)

    async def detach(self, member: Member, wait: float) -> bool:
        """Stop ``member`` (a standby) streaming; True once its WAL receiver is gone."""

        async def run(connection: asyncpg.Connection) -> bool:
            await _alter_system(connection, {"primary_conninfo": ""})
            await connection.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not await connection.fetchval("SELECT count(*) FROM pg_stat_wal_receiver"):
                    return True
                await asyncio.sleep(0.05)
            return False

        return await self._on(member, run, wait + self.timeout)

    async def promote(self, member: Member, synchronous: tuple[str, ...], slots: list[str]) -> None:
        """pg_promote (waiting for it), then make it a clean primary: writable,
        ``synchronous`` as its standbys, a slot per other member."""

        async def run(connection: asyncpg.Connection) -> None:
            in_recovery = await connection.fetchval("SELECT pg_is_in_recovery()")
            if in_recovery and not await connection.fetchval("SELECT pg_promote(true, 30)"):
                raise ClusterControlError(f"{member.name}: pg_promote did not finish")
            await _setup_primary(connection, synchronous, slots)

        await self._on(member, run, max(self.timeout, 35))

    async def set_synchronous(self, member: Member, synchronous: tuple[str, ...]) -> None:
        async def run(connection: asyncpg.Connection) -> None:
            await _alter_system(
                connection, {"synchronous_standby_names": synchronous_names_setting(synchronous)}
            )
            await connection.execute("SELECT pg_reload_conf()")

        await self._on(member, run)

    async def ensure_slots(self, member: Member, slots: list[str]) -> None:
        await self._on(member, lambda c: _ensure_slots(c, slots))

    async def repoint(self, standby: Member, primary: Member) -> None:
        """Make ``standby`` stream from ``primary`` through its slot (a reload restarts
        the WAL receiver; timeline 'latest' follows the promotion)."""
        conninfo = primary_conninfo(primary, standby, self.credentials)

        async def run(connection: asyncpg.Connection) -> None:
            await _alter_system(
                connection, {"primary_conninfo": conninfo, "primary_slot_name": standby.slot}
            )
            await connection.execute("SELECT pg_reload_conf()")

        await self._on(standby, run)


def _verified_tls(ca: str) -> ssl.SSLContext:
    """verify-full: the member's certificate, signed by ``ca``, names its host."""
    try:
        return ssl.create_default_context(cadata=ca)
    except (ssl.SSLError, ValueError) as exc:
        raise ClusterControlError(f"the CA is not a PEM certificate: {exc}") from None


async def _alter_system(connection: asyncpg.Connection, settings: dict[str, str]) -> None:
    # One statement each: ALTER SYSTEM refuses to run inside a transaction block.
    for key, value in settings.items():
        await connection.execute(f"ALTER SYSTEM SET {key} = {_quote(value)}")


async def _ensure_slots(connection: asyncpg.Connection, slots: list[str]) -> None:
    await connection.execute(
        "SELECT pg_create_physical_replication_slot(name, true) FROM unnest($1::text[]) name"
        " WHERE NOT EXISTS (SELECT FROM pg_replication_slots s WHERE s.slot_name = name)",
        slots,
    )


async def _setup_primary(
    connection: asyncpg.Connection, synchronous: tuple[str, ...], slots: list[str]
) -> None:
    await connection.execute("ALTER SYSTEM RESET default_transaction_read_only")
    await connection.execute("ALTER SYSTEM RESET primary_conninfo")
    await connection.execute("ALTER SYSTEM RESET primary_slot_name")
    await _alter_system(
        connection, {"synchronous_standby_names": synchronous_names_setting(synchronous)}
    )
    await connection.execute("SELECT pg_reload_conf()")
    await _ensure_slots(connection, slots)


async def _probe(name: str, connection: asyncpg.Connection) -> Probe:
    row = await connection.fetchrow(
        "SELECT pg_is_in_recovery() AS recovery,"
        " current_setting('default_transaction_read_only') AS read_only,"
        " current_setting('synchronous_standby_names') AS synchronous_names,"
        " current_setting('primary_conninfo') AS conninfo,"
        " pg_postmaster_start_time()::text AS started_at"
    )
    assert row is not None
    if row["recovery"]:
        return await _probe_standby(name, connection, row)
    return await _probe_primary(name, connection, row)


async def _probe_standby(name: str, connection: asyncpg.Connection, row: Any) -> Probe:
    lsns = await connection.fetchrow(
        "SELECT pg_last_wal_receive_lsn()::text AS received,"
        " pg_last_wal_replay_lsn()::text AS replayed,"
        " coalesce((SELECT received_tli FROM pg_stat_wal_receiver),"
        " (SELECT timeline_id FROM pg_control_checkpoint())) AS timeline"
    )
    assert lsns is not None
    replayed = parse_lsn(lsns["replayed"])
    # Nothing received since start (just restarted): what it replayed is what it has.
    received = max(parse_lsn(lsns["received"]) or 0, replayed or 0) or None
    return Probe(
        name,
        reachable=True,
        in_recovery=True,
        timeline=lsns["timeline"],
        received_lsn=received,
        replayed_lsn=replayed,
        upstream=parse_upstream(row["conninfo"]),
        started_at=row["started_at"],
    )


async def _probe_primary(name: str, connection: asyncpg.Connection, row: Any) -> Probe:
    synchronous_names = str(row["synchronous_names"])
    fenced = row["read_only"] == "on" and FENCE_STANDBY_NAME in synchronous_names
    position = await connection.fetchrow(
        "SELECT pg_current_wal_lsn()::text AS lsn,"
        " ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline"
    )
    assert position is not None
    replicas = tuple(
        Replica(
            r["application_name"],
            r["state"] == "streaming",
            r["sync_state"] in ("sync", "quorum"),
            parse_lsn(r["flush_lsn"]),
        )
        for r in await connection.fetch(
            "SELECT application_name, state, sync_state, flush_lsn::text AS flush_lsn"
            " FROM pg_stat_replication"
        )
    )
    committed, error = False, None
    if not fenced:
        await connection.execute(_WRITABLE_SESSION)
        committed, error = await _heartbeat(connection)
    return Probe(
        name,
        reachable=True,
        error=error,
        in_recovery=False,
        timeline=position["timeline"],
        received_lsn=parse_lsn(position["lsn"]),
        committed=committed,
        fenced=fenced,
        replicas=replicas,
        synchronous_names=synchronous_names,
        started_at=row["started_at"],
    )


async def _heartbeat(connection: asyncpg.Connection) -> tuple[bool, str | None]:
    """A real commit: a primary answering SELECT 1 whose disk is stuck fails here.
    synchronous_commit=local: this tests the primary itself; whether standbys
    acknowledge is the Replicated condition's business, not a reason to fail over."""
    for attempt in range(2):
        try:
            async with connection.transaction():
                await connection.execute("SET LOCAL synchronous_commit = local")
                await connection.execute(_HEARTBEAT)
            return True, None
        except asyncpg.UndefinedTableError:
            if attempt:
                raise
            await connection.execute(_HEARTBEAT_TABLE)
    return False, "heartbeat not committed"
