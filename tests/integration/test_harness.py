"""The harness itself: real servers, real isolation."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.harness import HarnessError, PostgresServer, ServiceProcess, free_port
from tests.harness.ports import ephemeral_range


async def test_postgres_answers_queries(postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(postgres_server.dsn)
    try:
        assert await conn.fetchval("SELECT 40 + 2") == 42
        assert await conn.fetchval("SELECT current_user") == "shortlink"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        assert await conn.fetchval("SHOW fsync") == "off"
    finally:
        await conn.close()


def test_postgres_runs_unprivileged(postgres_server: PostgresServer) -> None:
    assert postgres_server.process is not None
    expected_uid = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    postmaster_uid = Path(f"/proc/{postgres_server.process.pid}").stat().st_uid
    assert postmaster_uid == expected_uid != 0
    data_directory = postgres_server.execute("SELECT current_setting('data_directory')")
    assert Path(data_directory) == postgres_server.data_dir
    assert postgres_server.data_dir.stat().st_uid == expected_uid


async def test_create_database_from_template(postgres_server: PostgresServer) -> None:
    source_dsn = postgres_server.create_database("harness_source")
    conn = await asyncpg.connect(source_dsn)
    try:
        await conn.execute("CREATE TABLE probe (value text); INSERT INTO probe VALUES ('copied')")
    finally:
        await conn.close()

    copy_dsn = postgres_server.create_database("harness_copy", template="harness_source")
    assert copy_dsn.endswith("/harness_copy")
    conn = await asyncpg.connect(copy_dsn)
    try:
        assert await conn.fetchval("SELECT value FROM probe") == "copied"
    finally:
        await conn.close()

    for name in ("harness_copy", "harness_source"):
        postgres_server.drop_database(name)
    remaining = postgres_server.execute(
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'harness_%'"
    )
    assert remaining == "0"


@pytest.mark.parametrize("run", [1, 2])
async def test_database_url_is_private_migrated_copy(
    database_url: str, migrated_template: str, run: int
) -> None:
    assert database_url != migrated_template
    conn = await asyncpg.connect(database_url)
    try:
        applied = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in applied], "template should carry applied migrations"
        # Fails on the second run if databases leaked between tests.
        await conn.execute("CREATE TABLE isolation_probe (run int)")
    finally:
        await conn.close()


@pytest.mark.parametrize("run", [1, 2])
async def test_redis_set_get_and_flush_between_tests(redis_url: str, run: int) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        # Fails on the second run unless the fixture flushed the first run's key.
        assert await client.get("isolation-probe") is None
        await client.set("isolation-probe", f"run-{run}")
        assert await client.get("isolation-probe") == f"run-{run}".encode()
    finally:
        await client.aclose()


async def test_redis_is_loopback_only_and_volatile(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        config = await client.config_get("*")
    finally:
        await client.aclose()
    assert config["bind"] == "127.0.0.1"
    assert config["save"] == ""
    assert config["appendonly"] == "no"


def test_service_process_waits_for_healthz_and_stops(tmp_path: Path) -> None:
    (tmp_path / "healthz").write_text("ok")
    port = free_port()
    command = ["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    command += ["--directory", str(tmp_path)]
    with ServiceProcess(command, env={}, port=port, log_dir=tmp_path / "logs") as service:
        assert service.base_url == f"http://127.0.0.1:{port}"
        assert service.command[0] == str(Path(sys.executable).parent / "python")
        process = service.process
        assert process is not None and process.poll() is None
    assert process.poll() is not None


def test_service_process_reports_early_exit_with_log(tmp_path: Path) -> None:
    command = ["python", "-c", "import sys; print('boom from child'); sys.exit(3)"]
    service = ServiceProcess(command, env={}, port=free_port(), log_dir=tmp_path)
    with pytest.raises(HarnessError, match=r"(?s)exited with code 3.*boom from child"):
        service.start()


def test_free_ports_are_never_ones_the_kernel_hands_to_outgoing_connections() -> None:
    """A port in the ephemeral range can be taken by any process's next connect()
    between the pick and the server's bind (CI: a redirector died on EADDRINUSE)."""
    ephemeral = ephemeral_range()
    picked = [free_port() for _ in range(200)]
    assert not [port for port in picked if port in ephemeral]
    assert not [port for port in picked if 30000 <= port <= 32767]  # NodePorts
    assert len(set(picked)) == len(picked)
