"""Shared fixtures: one real PostgreSQL and Redis per session, isolated per test."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import PostgresServer, RedisServer

# Fixtures for the heavier real parts live in their own modules.
pytest_plugins = [
    "tests.fixtures.kafka",
    "tests.fixtures.kube",
    "tests.fixtures.cluster",
    "tests.fixtures.clickhouse",
    "tests.fixtures.pg_cluster",
]

TEMPLATE_DATABASE = "shortlink_template"
INTEGRATION_DIRS = ("integration", "e2e")
_database_numbers = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs real PostgreSQL/Redis/processes (tests/integration, e2e)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests_dir) if item.path.is_relative_to(tests_dir) else None
        if relative is not None and relative.parts[0] in INTEGRATION_DIRS:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with PostgresServer(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def migrated_template(postgres_server: PostgresServer) -> str:
    """DSN of a database with all migrations applied; per-test databases copy it."""
    from shortlink.adapters.migrations import apply_migrations

    dsn = postgres_server.create_database(TEMPLATE_DATABASE)
    # A fresh loop of its own: apply_migrations opens and closes its connection
    # inside, and CREATE DATABASE ... TEMPLATE needs the template left unused.
    asyncio.run(apply_migrations(dsn))
    return dsn


@pytest.fixture
def database_url(postgres_server: PostgresServer, migrated_template: str) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    name = f"test_{next(_database_numbers)}"
    dsn = postgres_server.create_database(name, template=TEMPLATE_DATABASE)
    yield dsn
    postgres_server.drop_database(name)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session Redis, emptied before this test."""
    redis_server.flushall()
    return redis_server.url
