"""REDbot (lint for HTTP, from PyPI) over every kind of answer the redirector gives:
302, 301, 307, 308, 403, 404, 410 and 503 (the JSON variants: REDbot sends no
Accept). It leaves no warning: before issue 20 every one of them lacked Date.
A warning that must stay gets its reason in docs/api.md and
its note id in JUSTIFIED."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shortlink.adapters.migrations import apply_migrations
from tests.e2e.conftest import ApiClient
from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import SECRET, component_process

Stack = tuple[ServiceProcess, ServiceProcess, str]
# REDbot note ids that stay, each explained in docs/api.md.
JUSTIFIED: frozenset[str] = frozenset()


def redbot_notes(url: str) -> list[dict[str, str]]:
    """REDbot's notes on ``url`` (its HAR output), with their levels."""
    redbot = str(Path(sys.executable).parent / "redbot")
    ran = subprocess.run(
        [redbot, "-o", "har", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    entries = json.loads(ran.stdout)["log"]["entries"]
    return [note for entry in entries for note in entry["_red_messages"]]


@pytest.fixture(scope="module")
def unavailable(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A redirector whose PostgreSQL (its own) has stopped: an uncached code is 503."""
    base = tmp_path_factory.mktemp("redbot")
    with PostgresServer(base / "postgres") as postgres:
        database_url = postgres.create_database("redbot")
        asyncio.run(apply_migrations(database_url))
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url,
            "SHORTLINK_HOST": "127.0.0.1",
            "SHORTLINK_SECRET_KEY": SECRET,
        }
        redirector = component_process("redirector", env, base / "logs")
        redirector.start()
        postgres.stop(immediate=True)
        try:
            yield redirector.base_url
        finally:
            redirector.stop()


def test_redbot_finds_nothing_unjustified(stack: Stack, api: ApiClient, unavailable: str) -> None:
    def create(**body: object) -> str:
        created = api.call(
            "POST", "/v1/urls", json={"original_url": "https://example.com/r", **body}
        )
        assert created.status_code == 201, created.text
        return str(created.json()["short_code"])

    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    redirector = stack[1].base_url
    urls = {
        302: f"{redirector}/{create()}",
        301: f"{redirector}/{create(redirect_type=301)}",
        307: f"{redirector}/{create(redirect_type=307)}",
        308: f"{redirector}/{create(redirect_type=308)}",
        403: f"{redirector}/{create(password='pw')}",
        404: f"{redirector}/no-such-code",
        410: f"{redirector}/{create(expires_at=soon)}",
        503: f"{unavailable}/someCode1",
    }
    time.sleep(1.2)
    found = {}
    for status, url in urls.items():
        notes = redbot_notes(url)
        found[status] = sorted(
            f"{n['note_id']}: {n['summary']}"
            for n in notes
            if n["level"] in {"WARN", "BAD"} and n["note_id"] not in JUSTIFIED
        )
    assert found == {status: [] for status in urls}
