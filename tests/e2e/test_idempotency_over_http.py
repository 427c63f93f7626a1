"""Idempotency-Key over HTTP: a retry replays the first 201 (checked against the served
OpenAPI document), another body is 422, a bad key 400, simultaneous duplicates one link."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import ApiClient


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}


def test_a_retry_replays_the_first_response(api: ApiClient, visitor: httpx.Client) -> None:
    key = _key()
    body = {"original_url": "https://example.com/once"}
    first = api.call("POST", "/v1/urls", json=body, headers=dict(key))
    again = api.call("POST", "/v1/urls", json=body, headers=dict(key))

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["location"] == first.headers["location"]
    assert visitor.get(f"/{first.json()['short_code']}").status_code == 302

    other = api.call(
        "POST", "/v1/urls", json={"original_url": "https://example.com/x"}, headers=dict(key)
    )
    assert other.status_code == 422 and other.json()["error"] == "IDEMPOTENCY_KEY_REUSED"


def test_malformed_keys_are_400(api: ApiClient) -> None:
    body = {"original_url": "https://example.com/k"}
    for bad in (b"x" * 256, "caf\u00e9".encode(), b"tab\there"):
        response = api.call("POST", "/v1/urls", json=body, headers={"Idempotency-Key": bad})
        assert response.status_code == 400 and response.json()["error"] == "INVALID_REQUEST"


def test_a_bulk_retry_replays_the_whole_response(api: ApiClient) -> None:
    key = _key()
    body = {"urls": [{"original_url": "https://example.com/b1"}, {"original_url": "https://b.org"}]}
    first = api.call("POST", "/v1/urls/bulk", json=body, headers=dict(key))
    again = api.call("POST", "/v1/urls/bulk", json=body, headers=dict(key))

    assert first.status_code == again.status_code == 201 and first.json()["created"] == 2
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


def test_simultaneous_duplicates_make_one_link(api: ApiClient) -> None:
    key = _key()
    body = {"original_url": "https://example.com/race"}

    def post(_: int) -> httpx.Response:
        return api.call("POST", "/v1/urls", json=body, headers=dict(key))

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(post, range(6)))

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["short_code"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 5
