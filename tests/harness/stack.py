"""`shortlink api` + `shortlink redirector` as real processes on a fresh, migrated
database of the harness's PostgreSQL: the stack end-to-end tests talk to."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Mapping
from pathlib import Path

from shortlink.adapters.migrations import apply_migrations
from tests.harness.ports import free_port
from tests.harness.postgres import PostgresServer
from tests.harness.processes import ServiceProcess
from tests.harness.redis import RedisClusterGroup, RedisSentinelGroup, RedisServer

API_KEY = "sl_e2e_initial_key_0123456789"
SECRET = "e2e-secret-key-0123456789-0123456789"
_databases = itertools.count()

# The public and the ops port of each Sanic component.
PORT_VARIABLES = {
    "api": ("SHORTLINK_API_PORT", "SHORTLINK_API_OPS_PORT"),
    "redirector": ("SHORTLINK_REDIRECTOR_PORT", "SHORTLINK_REDIRECTOR_OPS_PORT"),
}


def embedded_analytics(chdb_dir: Path, name: str) -> dict[str, str]:
    """start_stack's environment for clicks that reach a click store of the stack's own:
    events over Redis to the ingest loop inside the API, which owns a chDB directory
    (the one ClickHouse engine to be had here). Topics and consumer group are named per
    module and run, so stacks sharing the harness's Redis never read each other's."""
    suffix = f"{name}-{os.getpid()}"
    return {
        "SHORTLINK_EVENTS": "redis",
        "SHORTLINK_CLICKS_TOPIC": f"clicks-{suffix}",
        "SHORTLINK_LINKS_TOPIC": f"links-{suffix}",
        "SHORTLINK_ANALYTICS_GROUP": f"analytics-{suffix}",
        "CLICKHOUSE_URL": f"chdb://{chdb_dir}",
        "SHORTLINK_ANALYTICS_EMBEDDED": "true",
        "SHORTLINK_ANALYTICS_FLUSH_MS": "200",
    }


def component_process(
    component: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    port: int | None = None,
    command: list[str] | None = None,
    name: str | None = None,
) -> ServiceProcess:
    """`shortlink api|redirector` on ``port`` (default: a free one) with an ops port of
    its own, so several can run beside each other."""
    port = port or free_port()
    ops_port = free_port()
    public_variable, ops_variable = PORT_VARIABLES[component]
    return ServiceProcess(
        command or ["shortlink", component],
        env={**env, public_variable: str(port), ops_variable: str(ops_port)},
        port=port,
        ops_port=ops_port,
        log_dir=log_dir,
        name=name,
    )


def start_stack(
    postgres: PostgresServer,
    redis: RedisServer | RedisSentinelGroup | RedisClusterGroup,
    log_dir: Path,
    api_port: int | None = None,  # chosen ahead: e.g. named in the OIDC redirect URI
    **env: str,
) -> tuple[ServiceProcess, ServiceProcess, str]:
    database_url = postgres.create_database(f"e2e_{next(_databases)}")
    asyncio.run(apply_migrations(database_url))
    redis.forget_rate_limits()
    redirector_port = free_port()
    common = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_BASE_URL": f"http://127.0.0.1:{redirector_port}",
        "SHORTLINK_SECRET_KEY": SECRET,
        "SHORTLINK_INITIAL_API_KEY": API_KEY,
        "SHORTLINK_RATE_LIMIT": "10000/minute",
        **env,
    }
    api = component_process("api", common, log_dir, port=api_port)
    redirector = component_process("redirector", common, log_dir, port=redirector_port)
    api.start()
    redirector.start()
    return api, redirector, database_url
