"""`shortlink api` + `shortlink redirector` as real processes on a fresh, migrated
database of the harness's PostgreSQL: the stack end-to-end tests talk to."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from shortlink.adapters.migrations import apply_migrations
from tests.harness.ports import free_port
from tests.harness.postgres import PostgresServer
from tests.harness.processes import ServiceProcess
from tests.harness.redis import RedisServer

API_KEY = "sl_e2e_initial_key_0123456789"
SECRET = "e2e-secret-key-0123456789-0123456789"
_databases = itertools.count()


def start_stack(
    postgres: PostgresServer, redis: RedisServer, log_dir: Path, **env: str
) -> tuple[ServiceProcess, ServiceProcess, str]:
    database_url = postgres.create_database(f"e2e_{next(_databases)}")
    asyncio.run(apply_migrations(database_url))
    api_port, redirector_port = free_port(), free_port()
    common = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_API_PORT": str(api_port),
        "SHORTLINK_REDIRECTOR_PORT": str(redirector_port),
        "SHORTLINK_BASE_URL": f"http://127.0.0.1:{redirector_port}",
        "SHORTLINK_SECRET_KEY": SECRET,
        "SHORTLINK_INITIAL_API_KEY": API_KEY,
        "SHORTLINK_RATE_LIMIT": "10000/minute",
        **env,
    }
    api = ServiceProcess(["shortlink", "api"], env=common, port=api_port, log_dir=log_dir)
    redirector = ServiceProcess(
        ["shortlink", "redirector"], env=common, port=redirector_port, log_dir=log_dir
    )
    api.start()
    redirector.start()
    return api, redirector, database_url
