"""Issue 19, finding 1 over HTTP: a burst of password creates is bounded (503 with
Retry-After once bcrypt's queue is full) and a public unlock is answered meanwhile,
not after the burst."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer
from tests.harness.stack import API_KEY, start_stack

QUEUE = 40


@pytest.fixture(scope="module")
def api_url(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        Path(tmp_path_factory.mktemp("bcrypt-logs")),
        SHORTLINK_BCRYPT_QUEUE=str(QUEUE),
    )
    yield api.base_url
    redirector.stop()
    api.stop()


def test_password_creates_are_bounded_and_never_hold_an_unlock(api_url: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    link = {"original_url": "https://example.com/u1", "password": "right"}
    code = httpx.post(f"{api_url}/v1/urls", json=link, headers=headers).json()["short_code"]
    bulk = {
        "urls": [
            {"original_url": f"https://example.com/b{n}", "password": "pw"} for n in range(QUEUE)
        ]
    }

    def create_bulk() -> tuple[httpx.Response, float]:
        response = httpx.post(f"{api_url}/v1/urls/bulk", json=bulk, headers=headers, timeout=120)
        return response, time.monotonic()

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(create_bulk)
        time.sleep(0.3)  # its 40 passwords are queued for bcrypt (about a second of work)
        second = pool.submit(create_bulk)
        unlock = httpx.post(f"{api_url}/v1/urls/{code}/unlock", json={"password": "no"}, timeout=60)
        unlocked_at = time.monotonic()
        (created, created_at), (busy, _) = first.result(), second.result()

    assert created.status_code == 201
    assert busy.status_code == 503 and busy.json()["error"] == "PASSWORD_HASHING_BUSY"
    assert int(busy.headers["retry-after"]) >= 1
    assert unlock.status_code == 401
    assert unlocked_at < created_at, "the unlock waited for the queued creates"
