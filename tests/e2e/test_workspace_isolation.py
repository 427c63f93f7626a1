"""Bad input across workspaces, over HTTP: a key of another workspace can't see, change
or delete a link, revoke a key or read the log of this one (404/403 JSON, nothing
written); a read-only key changes nothing."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.harness import ServiceProcess
from tests.harness.stack import API_KEY


def _mint(http: httpx.Client, workspace: str, role: str) -> tuple[str, int]:
    answer = http.post(
        "/v1/api-keys",
        json={"name": f"{workspace}-{role}", "owner": workspace, "role": role},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["key"], answer.json()["id"]


def _entries(database_url: str) -> int:
    """Audit entries of changes made: any change writes at least one."""

    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM audit_log WHERE outcome = 'ok'"))
        finally:
            await conn.close()

    return asyncio.run(count())


@pytest.fixture(scope="module")
def http(stack: tuple[ServiceProcess, ServiceProcess, str]) -> httpx.Client:
    return httpx.Client(base_url=stack[0].base_url, timeout=10)


def test_another_workspaces_key_reaches_nothing_here(
    http: httpx.Client, stack: tuple[ServiceProcess, ServiceProcess, str]
) -> None:
    ours, _ = _mint(http, "iso-ours", "owner")
    theirs, _ = _mint(http, "iso-theirs", "owner")
    _, victim_key = _mint(http, "iso-ours", "viewer")
    mine = {"Authorization": f"Bearer {ours}"}
    created = http.post("/v1/urls", json={"original_url": "https://example.com/ours",
                                          "custom_alias": "iso-link"}, headers=mine)  # fmt: skip
    assert created.status_code == 201
    before = _entries(stack[2])

    other = {"Authorization": f"Bearer {theirs}"}
    for method, path, body in [
        ("GET", "/v1/urls/iso-link", None),
        ("PATCH", "/v1/urls/iso-link", {"is_active": False}),
        ("DELETE", "/v1/urls/iso-link", None),
        ("GET", "/v1/urls/iso-link/stats", None),
        ("DELETE", f"/v1/api-keys/{victim_key}", None),
    ]:
        answer = http.request(method, path, json=body, headers=other)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"] == "NOT_FOUND"
    listed = http.get("/v1/urls", headers=other).json()["items"]
    assert all(link["short_code"] != "iso-link" for link in listed)
    audit = http.get("/v1/workspace/audit", headers=other).json()["items"]
    assert all(entry["target"] != "iso-link" for entry in audit)
    # Minting a key for another workspace is an instance administrator's right.
    refused = http.post("/v1/api-keys", json={"name": "x", "owner": "iso-ours"}, headers=other)
    assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN"

    assert _entries(stack[2]) == before  # nothing written
    assert http.get("/v1/urls/iso-link", headers=mine).json()["is_active"] is True


def test_a_read_only_key_reads_and_changes_nothing(
    http: httpx.Client, stack: tuple[ServiceProcess, ServiceProcess, str]
) -> None:
    viewer, _ = _mint(http, "iso-read", "viewer")
    headers = {"Authorization": f"Bearer {viewer}"}
    assert http.get("/v1/urls", headers=headers).status_code == 200
    before = _entries(stack[2])
    for method, path, body in [
        ("POST", "/v1/urls", {"original_url": "https://example.com/x"}),
        ("POST", "/v1/api-keys", {"name": "escalate", "role": "owner"}),
        ("PUT", "/v1/workspace/members/me@example.com", {"role": "owner"}),
    ]:
        answer = http.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "FORBIDDEN" and answer.json()["role"] == "viewer"
    assert _entries(stack[2]) == before
