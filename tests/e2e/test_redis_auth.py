"""Issue 19, finding 4: a Redis that requires AUTH (a password, or an ACL user as
managed Redis services hand out) works through REDIS_URL alone, for every Redis user
of the stack (cache, rate limits, sessions, invalidation), and the password is
never logged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import PostgresServer, ServiceProcess
from tests.harness.redis import RedisServer
from tests.harness.stack import API_KEY, start_stack

PASSWORD = "default-user-secret-4711"
USER = ("shortlink", "acl-user-secret-0815")


@pytest.fixture(scope="module")
def guarded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-auth"), password=PASSWORD, user=USER)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(
    postgres_server: PostgresServer,
    guarded_redis: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    api, redirector, _ = start_stack(
        postgres_server, guarded_redis, Path(tmp_path_factory.mktemp("redis-auth-logs"))
    )
    yield api, redirector
    redirector.stop()
    api.stop()


def test_an_acl_user_in_redis_url_serves_every_redis_use(
    stack: tuple[ServiceProcess, ServiceProcess], guarded_redis: RedisServer
) -> None:
    api, redirector = stack
    assert USER[1] in guarded_redis.url  # the stack got the ACL user's URL
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {"original_url": "https://example.com/auth"}
    first = httpx.post(f"{api.base_url}/v1/urls", json=body, headers=headers)
    second = httpx.post(f"{api.base_url}/v1/urls", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    # Counted in Redis: a limiter that failed open would answer the full budget twice.
    remaining = [int(r.headers["ratelimit-remaining"]) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1
    code = first.json()["short_code"]
    assert httpx.get(f"{redirector.base_url}/{code}").status_code == 302
    for process in stack:
        checks = httpx.get(f"{process.ops_url}/readyz").json()["checks"]
        assert checks["redis"] is True, checks
    origin = api.base_url.rstrip("/")
    with httpx.Client(base_url=origin, headers={"Origin": origin}) as browser:
        assert browser.post("/v1/sessions", json={"api_key": API_KEY}).status_code == 201
        assert browser.get("/v1/sessions").status_code == 200
    # An edit reaches the redirector through the invalidation feed (pub/sub).
    patched = httpx.patch(
        f"{api.base_url}/v1/urls/{code}",
        json={"original_url": "https://example.com/auth-2"},
        headers=headers,
    )
    assert patched.status_code == 200
    assert httpx.get(f"{redirector.base_url}/{code}").headers["location"].endswith("auth-2")
    for process in stack:
        assert USER[1] not in process.log() and PASSWORD not in process.log()


def test_without_the_password_redis_refuses(guarded_redis: RedisServer) -> None:
    anonymous = RedisServer(guarded_redis.base_dir, guarded_redis.port)  # not started: a client
    assert anonymous.command("SET", "k", "v").startswith("-NOAUTH")
