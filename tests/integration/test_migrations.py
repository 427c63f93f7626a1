"""Versioned migrations on a real, empty PostgreSQL database."""

from __future__ import annotations

import asyncio
import itertools

import asyncpg

from shortlink.adapters.migrations import apply_migrations, available_migrations
from tests.harness import PostgresServer

_names = itertools.count()


async def test_migrations_apply_once_even_when_run_concurrently(
    postgres_server: PostgresServer,
) -> None:
    name = f"migrate_{next(_names)}"
    dsn = postgres_server.create_database(name)
    try:
        results = await asyncio.gather(*(apply_migrations(dsn) for _ in range(4)))

        expected = [f"{v:04d}_{name}" for v, name, _ in available_migrations()]
        assert sorted(results, key=len) == [[], [], [], expected]  # exactly one did the work
        assert await apply_migrations(dsn) == []
        conn = await asyncpg.connect(dsn)
        try:
            versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        finally:
            await conn.close()
        assert [r["version"] for r in versions] == [v for v, _, _ in available_migrations()]
        assert {r["tablename"] for r in tables} >= {"links", "api_keys", "schema_migrations"}
    finally:
        postgres_server.drop_database(name)
