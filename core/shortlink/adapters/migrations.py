"""Versioned SQL migrations: core/migrations/NNNN_name.sql, applied in order, once each."""

from __future__ import annotations

import logging
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every migrator process.
_LOCK_ID = 0x5_4C_4E_4B


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) sorted by version."""
    folder = resources.files("shortlink.migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append((int(version), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found)


async def apply_migrations(dsn: str, until: int | None = None) -> list[str]:
    """Apply pending migrations (up to version ``until``, if given); returns the names
    applied. Safe to run from many pods at once: an advisory lock serialises them and
    each runs in a transaction."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            applied = []
            for version, name, sql in available_migrations():
                if version in done or (until is not None and version > until):
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version,
                        name,
                    )
                log.info("migration applied", extra={"version": version, "migration": name})
                applied.append(f"{version:04d}_{name}")
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    finally:
        await conn.close()
