"""The role x endpoint table (``shortlink.domain.access``), one generated test per cell,
against the real API: an allowed cell succeeds, a forbidden one answers 403 FORBIDDEN
and writes nothing (a denied admin action is logged as denied). And every mutating
route writes an audit entry carrying its request id."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from shortlink.domain.access import (
    ENDPOINT_ROLES,
    INSTANCE_ADMIN_ENDPOINTS,
    permits,
)
from shortlink.domain.workspaces import Role
from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import API_KEY, embedded_analytics, start_stack
from tests.unit.test_access import guarded_routes

WORKSPACE = "matrix"
_unique = itertools.count()


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    ok: int = 200  # the status an allowed caller gets


class Matrix:
    """A workspace with one key per role, and the fresh objects each call acts on."""

    def __init__(self, http: httpx.Client, database_url: str) -> None:
        self.http = http
        self.database_url = database_url
        self.keys = {role: self._mint(role) for role in Role}

    def request(self, key: str | None, call: Call) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.http.request(call.method, call.path, json=call.json, headers=headers)

    def _mint(self, role: Role, admin_key: str = API_KEY) -> str:
        response = self.request(
            admin_key,
            Call("POST", "/v1/api-keys",
                 {"name": f"{role.label}-{next(_unique)}", "owner": WORKSPACE, "role": role.label}),
        )  # fmt: skip
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    def link(self) -> str:
        code = f"m{next(_unique)}-{uuid.uuid4().hex[:6]}"
        body = {"original_url": "https://example.com/m", "custom_alias": code}
        response = self.request(self.keys[Role.OWNER], Call("POST", "/v1/urls", body))
        assert response.status_code == 201, response.text
        return code

    def key_id(self) -> int:
        response = self.request(
            self.keys[Role.OWNER],
            Call("POST", "/v1/api-keys", {"name": f"victim-{next(_unique)}", "role": "viewer"}),
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def member(self) -> str:
        who = f"person{next(_unique)}@example.com"
        response = self.request(
            self.keys[Role.OWNER],
            Call("PUT", f"/v1/workspace/members/{who}", {"role": "viewer"}),
        )
        assert response.status_code == 200, response.text
        return who

    async def audit_counts(self) -> tuple[int, int]:
        """(entries of changes, entries of denied attempts) in the workspace's log."""
        conn = await asyncpg.connect(self.database_url)
        try:
            row = await conn.fetchrow(
                """SELECT count(*) FILTER (WHERE outcome = 'ok') AS ok,
                          count(*) FILTER (WHERE outcome = 'denied') AS denied
                   FROM audit_log WHERE workspace = $1""",
                WORKSPACE,
            )
        finally:
            await conn.close()
        assert row is not None
        return int(row["ok"]), int(row["denied"])

    async def entries_of(self, request_id: str) -> int:
        conn = await asyncpg.connect(self.database_url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM audit_log WHERE request_id = $1", request_id
                )
            )
        finally:
            await conn.close()


# For each endpoint of the table: a call that an allowed role makes successfully.
CALLS: dict[str, Callable[[Matrix], Call]] = {
    "list_urls": lambda m: Call("GET", "/v1/urls"),
    "get_url": lambda m: Call("GET", f"/v1/urls/{m.link()}"),
    "url_qr": lambda m: Call("GET", f"/v1/urls/{m.link()}/qr"),
    "url_stats": lambda m: Call("GET", f"/v1/urls/{m.link()}/stats"),
    "url_realtime": lambda m: Call("GET", f"/v1/urls/{m.link()}/stats/realtime"),
    "workspace_stats": lambda m: Call("GET", "/v1/stats"),
    "workspace_realtime": lambda m: Call("GET", "/v1/stats/realtime"),
    "erase_url_clicks": lambda m: Call("DELETE", f"/v1/urls/{m.link()}/clicks", ok=204),
    "erase_workspace_clicks": lambda m: Call(
        "DELETE", "/v1/workspace/clicks?from=2026-01-01&to=2026-02-01", ok=204
    ),
    "alias_availability": lambda m: Call("GET", "/v1/aliases/free-alias"),
    "create_url": lambda m: Call("POST", "/v1/urls", {"original_url": "https://example.com/"}, 201),
    "create_urls_bulk": lambda m: Call(
        "POST", "/v1/urls/bulk", {"urls": [{"original_url": "https://example.com/b"}]}, 201
    ),
    "update_url": lambda m: Call("PATCH", f"/v1/urls/{m.link()}", {"is_active": False}),
    "delete_url": lambda m: Call("DELETE", f"/v1/urls/{m.link()}", ok=204),
    "preview_url": lambda m: Call("POST", f"/v1/urls/{m.link()}/preview", {}),
    "list_workspaces": lambda m: Call("GET", "/v1/workspaces"),
    "get_workspace": lambda m: Call("GET", "/v1/workspace"),
    "update_workspace": lambda m: Call("PATCH", "/v1/workspace", {"name": f"M {next(_unique)}"}),
    "list_members": lambda m: Call("GET", "/v1/workspace/members"),
    "put_member": lambda m: Call(
        "PUT", f"/v1/workspace/members/new{next(_unique)}@example.com", {"role": "viewer"}
    ),
    "delete_member": lambda m: Call("DELETE", f"/v1/workspace/members/{m.member()}", ok=204),
    "list_api_keys": lambda m: Call("GET", "/v1/api-keys"),
    "create_api_key": lambda m: Call(
        "POST", "/v1/api-keys", {"name": "k", "role": "viewer"}, ok=201
    ),
    "revoke_api_key": lambda m: Call("DELETE", f"/v1/api-keys/{m.key_id()}"),
    "list_audit": lambda m: Call("GET", "/v1/workspace/audit"),
    "create_workspace": lambda m: Call(
        "POST", "/v1/workspaces", {"slug": f"ws-{next(_unique)}", "name": "W"}, ok=201
    ),
}
# POST routes that change nothing the audit log covers: sessions live in Redis, an
# unlock only reads the link (its failure counters are in Redis), a preview computes.
NOT_AUDITED = frozenset({"create_session", "delete_session", "unlock_url", "preview_url"})


@pytest.fixture(scope="module")
def stack(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess, str]]:
    """With a click store (chDB in the API process), so the stats and erasure cells
    reach what they guard instead of stopping at 503 ANALYTICS_UNAVAILABLE."""
    logs = tmp_path_factory.mktemp("matrix-logs")
    api, redirector, database_url = start_stack(
        postgres_server,
        redis_server,
        logs,
        **embedded_analytics(logs / "chdb", "matrix"),
    )
    yield api, redirector, database_url
    redirector.stop()
    api.stop()


@pytest.fixture(scope="module")
def matrix(stack: tuple[ServiceProcess, ServiceProcess, str]) -> Iterator[Matrix]:
    with httpx.Client(base_url=stack[0].base_url, timeout=10) as http:
        yield Matrix(http, stack[2])


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.label)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_ROLES))
async def test_cell(matrix: Matrix, endpoint: str, role: Role) -> None:
    call = CALLS[endpoint](matrix)
    written_before, denied_before = await matrix.audit_counts()

    response = matrix.request(matrix.keys[role], call)

    written, denied = await matrix.audit_counts()
    if permits(role, endpoint):
        assert response.status_code == call.ok, response.text
        return
    assert response.status_code == 403, response.text
    body = response.json()
    assert (body["error"], body["role"]) == ("FORBIDDEN", role.label)
    assert body["required"] == ENDPOINT_ROLES[endpoint].label
    assert written == written_before  # nothing written
    admin_action = ENDPOINT_ROLES[endpoint] >= Role.ADMIN
    assert denied == denied_before + (1 if admin_action else 0)


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.label)
async def test_instance_admin_endpoints_refuse_every_workspace_role(
    matrix: Matrix, role: Role
) -> None:
    for endpoint in sorted(INSTANCE_ADMIN_ENDPOINTS):
        response = matrix.request(matrix.keys[role], CALLS[endpoint](matrix))
        assert response.status_code == 403 and response.json()["required"] == "instance_admin"
        assert (
            matrix.request(API_KEY, CALLS[endpoint](matrix)).status_code
            == CALLS[endpoint](matrix).ok
        )


async def test_every_mutating_route_writes_an_audit_entry(matrix: Matrix) -> None:
    """Each mutating endpoint of the table, called by the workspace's owner (or the
    instance administrator), leaves at least one entry with its request id."""
    mutating = sorted(
        endpoint
        for endpoint in (*ENDPOINT_ROLES, *INSTANCE_ADMIN_ENDPOINTS)
        if endpoint not in NOT_AUDITED and CALLS[endpoint](matrix).method != "GET"
    )
    assert mutating, "no mutating endpoint found: the table is empty?"
    silent = []
    for endpoint in mutating:
        call = CALLS[endpoint](matrix)
        request_id = f"audit-{endpoint}-{uuid.uuid4().hex[:8]}"
        key = API_KEY if endpoint in INSTANCE_ADMIN_ENDPOINTS else matrix.keys[Role.OWNER]
        response = matrix.http.request(
            call.method, call.path, json=call.json,
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": request_id},
        )  # fmt: skip
        assert response.status_code == call.ok, (endpoint, response.text)
        if await matrix.entries_of(request_id) == 0:
            silent.append(endpoint)
    assert silent == [], f"mutating routes that wrote no audit entry: {silent}"


def test_every_mutating_route_is_audit_tested() -> None:
    mutating = {
        endpoint for endpoint, methods in guarded_routes().items() if methods - {"GET", "HEAD"}
    }
    assert mutating - NOT_AUDITED <= set(CALLS), "a mutating route has no call to audit-test"
    assert set(CALLS) == set(ENDPOINT_ROLES) | INSTANCE_ADMIN_ENDPOINTS
