"""Seed flow 9 over HTTP, with a small limit so the test is quick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer
from tests.harness.stack import API_KEY, start_stack


@pytest.fixture(scope="module")
def limited_stack(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        Path(tmp_path_factory.mktemp("rate-logs")),
        SHORTLINK_RATE_LIMIT="3/minute",
        SHORTLINK_ALLOW_ANONYMOUS="true",
        # Its own Redis database: counters are keyed by API-key id, which the
        # other stack (another PostgreSQL database) numbers the same way.
        REDIS_URL=redis_server.url.removesuffix("/0") + "/1",
    )
    yield api.base_url
    redirector.stop()
    api.stop()


@pytest.fixture
def limited_api(limited_stack: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=limited_stack, headers=headers) as client:
        yield client


@pytest.fixture
def anonymous_api(limited_stack: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited_stack) as client:
        yield client


def test_fourth_create_in_a_minute_is_refused(limited_api: httpx.Client) -> None:
    body = {"original_url": "https://example.com/rl"}
    remaining = [
        int(limited_api.post("/v1/urls", json=body).headers["ratelimit-remaining"])
        for _ in range(3)
    ]
    refused = limited_api.post("/v1/urls", json=body)

    assert remaining == [2, 1, 0]
    assert refused.status_code == 429
    payload = refused.json()
    assert payload["error"] == "RATE_LIMIT_EXCEEDED"
    assert payload["message"] == "Max 3 URLs per minute"
    assert 1 <= payload["retry_after"] <= 60
    assert payload["rate_limit"]["limit"] == 3 and payload["rate_limit"]["remaining"] == 0
    assert payload["rate_limit"]["reset_at"].endswith("Z")
    assert refused.headers["retry-after"] == str(payload["retry_after"])
    # Bulk requests count against the same budget.
    assert limited_api.post("/v1/urls/bulk", json={"urls": [body]}).status_code == 429


def test_anonymous_creates_are_limited_per_client_ip(anonymous_api: httpx.Client) -> None:
    body = {"original_url": "https://example.com/anon"}
    first = anonymous_api.post("/v1/urls", json=body)
    assert first.status_code == 201
    code = first.json()["short_code"]
    # An anonymous link has no owner, so no key can manage it.
    assert anonymous_api.get(f"/v1/urls/{code}").status_code == 401
    statuses = [anonymous_api.post("/v1/urls", json=body).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
