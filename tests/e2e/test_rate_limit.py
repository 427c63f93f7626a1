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
        SHORTLINK_KEY_MINT_LIMIT="2/minute",
        SHORTLINK_ALLOW_ANONYMOUS="true",
        # One proxy in front: X-Forwarded-For names the client (a request without
        # it is its peer's).
        SHORTLINK_PROXIES_COUNT="1",
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


def _tenant_key(limited_api: httpx.Client, owner: str) -> str:
    minted = limited_api.post("/v1/api-keys", json={"name": owner, "owner": owner})
    assert minted.status_code == 201, minted.text
    return str(minted.json()["key"])


def test_keys_an_owner_mints_share_its_one_budget(limited_stack: str) -> None:
    """Issue 19, finding 1: a tenant can't multiply its limit by minting keys."""
    with httpx.Client(
        base_url=limited_stack, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as admin:
        first = _tenant_key(admin, "tenant-f1")
    keys = [first]
    with httpx.Client(base_url=limited_stack) as client:
        for _ in range(2):
            minted = client.post(
                "/v1/api-keys",
                json={"name": "rotation"},
                headers={"Authorization": f"Bearer {first}"},
            )
            assert minted.status_code == 201, minted.text
            keys.append(minted.json()["key"])
        body = {"original_url": "https://example.com/owner-budget"}
        statuses = [
            client.post(
                "/v1/urls", json=body, headers={"Authorization": f"Bearer {key}"}
            ).status_code
            for key in keys + keys[:1]
        ]
    assert statuses == [201, 201, 201, 429]


def test_minting_keys_is_limited_per_owner(limited_stack: str) -> None:
    with httpx.Client(
        base_url=limited_stack, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as admin:
        tenant = _tenant_key(admin, "tenant-mint")
    with httpx.Client(
        base_url=limited_stack, headers={"Authorization": f"Bearer {tenant}"}
    ) as client:
        statuses = [
            client.post("/v1/api-keys", json={"name": f"k{n}"}).status_code for n in range(2)
        ]
        refused = client.post("/v1/api-keys", json={"name": "one too many"})
    assert statuses == [201, 201]
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "RATE_LIMIT_EXCEEDED"
    assert int(refused.headers["retry-after"]) >= 1


def test_anonymous_creates_from_one_ipv6_64_share_a_budget(anonymous_api: httpx.Client) -> None:
    """Issue 19, finding 5: rotating addresses within a /64 is free, so it is one client."""
    body = {"original_url": "https://example.com/anon64"}
    statuses = [
        anonymous_api.post(
            "/v1/urls", json=body, headers={"X-Forwarded-For": f"2001:db8:5:64::{n:x}"}
        ).status_code
        for n in range(1, 5)
    ]
    assert statuses == [201, 201, 201, 429]
    other = anonymous_api.post(
        "/v1/urls", json=body, headers={"X-Forwarded-For": "2001:db8:5:65::1"}
    )
    assert other.status_code == 201


def test_unlock_guesses_behind_a_proxy_count_per_ipv6_64(limited_stack: str) -> None:
    """Sanic hands a forwarded IPv6 address over in brackets: it must still be one /64."""
    with httpx.Client(
        base_url=limited_stack, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as admin:
        tenant = _tenant_key(admin, "tenant-unlock")
    with httpx.Client(base_url=limited_stack) as client:
        code = client.post(
            "/v1/urls",
            json={"original_url": "https://example.com/locked64", "password": "right-pw"},
            headers={"Authorization": f"Bearer {tenant}"},
        ).json()["short_code"]
        statuses = [
            client.post(
                f"/v1/urls/{code}/unlock",
                json={"password": "wrong"},
                headers={"X-Forwarded-For": f"2001:db8:6:64::{n:x}"},
            ).status_code
            for n in range(1, 7)
        ]
    assert statuses == [401] * 5 + [429]
