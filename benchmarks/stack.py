"""The system under test: PostgreSQL, Redis, migrations, and the two Shortlink services."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from benchmarks.host import REPO_ROOT, CpuPlan, cpu_affinity, log, pinned
from tests.harness import PostgresServer, RedisServer, ServiceProcess, free_port
from tests.harness.processes import resolve_executable
from tests.harness.stack import component_process

API_KEY = "sl_bench_key_0123456789"
DATABASE_NAME = "shortlink_bench"
# High enough that the limiter is never the bottleneck being measured.
UNLIMITED_RATE = "100000000/minute"


@dataclass(frozen=True)
class Stack:
    api: ServiceProcess
    redirector: ServiceProcess
    database_url: str
    redis: RedisServer
    api_key: str = API_KEY

    @property
    def api_url(self) -> str:
        return self.api.base_url

    @property
    def redirector_url(self) -> str:
        return self.redirector.base_url

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def resident_mb(service: ServiceProcess) -> float | None:
    """The service's resident memory, to spot buffers that grow under load."""
    if service.process is None:
        return None
    try:
        status = Path(f"/proc/{service.process.pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def service_environment(database_url: str, redis_url: str, redirector_port: int) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SHORTLINK_BASE_URL": f"http://127.0.0.1:{redirector_port}",
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_SECRET_KEY": "benchmark-secret-key-not-for-production",
        "SHORTLINK_INITIAL_API_KEY": API_KEY,
        "SHORTLINK_RATE_LIMIT": UNLIMITED_RATE,
        "SHORTLINK_LOG_LEVEL": "WARNING",
        "SHORTLINK_WORKERS": "1",
        # As the chart runs them (config.proxiesCount): behind one trusted proxy, so a
        # redirect works out the client from X-Forwarded-For as in production.
        "SHORTLINK_PROXIES_COUNT": "1",
    }


def shortlink_command(*arguments: str) -> list[str]:
    return [resolve_executable("shortlink"), *arguments]


def migrate(database_url: str, log_dir: Path) -> None:
    log_path = log_dir / "migrate.log"
    with log_path.open("wb") as output:
        completed = subprocess.run(
            shortlink_command("migrate"),
            env={**os.environ, "DATABASE_URL": database_url},
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(
            f"shortlink migrate failed ({completed.returncode}):\n{log_path.read_text()}"
        )


@contextlib.contextmanager
def shortlink_stack(
    work_dir: Path,
    cpus: CpuPlan,
    *,
    durable_db: bool = False,
    service_overrides: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start everything on the server CPU, yield the URLs, stop everything on exit."""
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as running:
        # Children inherit the CPU affinity they are forked with: backends too.
        with cpu_affinity(cpus.server_cpus):
            postgres = running.enter_context(
                PostgresServer(work_dir / "postgres", fast_unsafe=not durable_db)
            )
            redis = running.enter_context(RedisServer(work_dir / "redis"))
        log(f"postgres on port {postgres.port}, redis on port {redis.port}")
        database_url = postgres.create_database(DATABASE_NAME)
        migrate(database_url, log_dir)

        redirector_port = free_port()
        environment = {
            **service_environment(database_url, redis.url, redirector_port),
            **(service_overrides or {}),
        }
        services = []
        for name, port in (("api", None), ("redirector", redirector_port)):
            service = component_process(
                name,
                environment,
                log_dir,
                port=port,
                command=pinned(shortlink_command(name), cpus.server_cpus),
                name=f"shortlink-{name}",
            )
            services.append(running.enter_context(service))
            log(f"shortlink {name} on {service.base_url}")
        api, redirector = services
        yield Stack(api=api, redirector=redirector, database_url=database_url, redis=redis)
