"""A namespace labelled ``shortlink.io/workspace: <slug>`` puts its ShortLinks in that
workspace: listed through the API to the workspace's members as managed by Kubernetes,
and read-only there (edits are refused, naming the ShortLink to edit instead)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import PostgresServer
from tests.harness.shortlinks import Cluster, condition
from tests.harness.stack import API_KEY
from tests.integration.operator.conftest import OperatorFactory, Stack
from tests.integration.operator.test_operator import sql
from tests.support.waiting import wait_for

WORKSPACE_LABEL = "shortlink.io/workspace"


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


@pytest.fixture
def workspace(stack: Stack) -> str:
    """A new workspace (made by the instance administrator's key); its slug."""
    slug = unique("team-")
    created = httpx.post(
        f"{stack.api.base_url}/v1/workspaces",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"slug": slug, "name": "GitOps team"},
    )
    assert created.status_code == 201, created.text
    return slug


@pytest.fixture
def member(stack: Stack, workspace: str) -> Iterator[httpx.Client]:
    """An editor's key of ``workspace``: allowed to edit the workspace's links."""
    minted = httpx.post(
        f"{stack.api.base_url}/v1/api-keys",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"name": "editor", "owner": workspace, "role": "editor"},
    )
    assert minted.status_code == 201, minted.text
    headers = {"Authorization": f"Bearer {minted.json()['key']}"}
    with httpx.Client(base_url=stack.api.base_url, headers=headers, timeout=10) as client:
        yield client


def listed(member: httpx.Client) -> dict[str, dict[str, object]]:
    response = member.get("/v1/urls", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {item["short_code"]: item for item in response.json()["items"]}


def test_a_labelled_namespaces_links_are_the_workspaces_and_read_only_there(
    cluster: Cluster,
    start_operator: OperatorFactory,
    member: httpx.Client,
    workspace: str,
    visitor: httpx.Client,
    stack: Stack,
) -> None:
    cluster.label_namespace({WORKSPACE_LABEL: workspace})
    start_operator()
    code = unique("ws-")
    cluster.create("team-link", {"target": "https://example.com/team", "code": code})
    cluster.wait_ready("team-link")

    item = listed(member)[code]
    assert item["managed_by"] == "kubernetes"
    assert item["managed_resource"] == f"{cluster.namespace}/team-link"
    single = member.get(f"/v1/urls/{code}")
    assert single.status_code == 200 and single.json()["managed_by"] == "kubernetes"

    hijack = {"original_url": "https://example.com/hijack"}
    for method, body in (("PATCH", hijack), ("DELETE", None)):
        refused = member.request(method, f"/v1/urls/{code}", json=body)
        assert refused.status_code == 409, refused.text
        error = refused.json()
        assert error["error"] == "MANAGED_BY_KUBERNETES"
        assert f"ShortLink {cluster.namespace}/team-link" in error["message"]
    assert visitor.get(f"/{code}").headers["location"] == "https://example.com/team"

    # The workspace's audit log names the operator, acting for that ShortLink.
    admin = httpx.post(
        f"{stack.api.base_url}/v1/api-keys",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"name": "auditor", "owner": workspace, "role": "admin"},
    ).json()["key"]
    audit = httpx.get(
        f"{stack.api.base_url}/v1/workspace/audit",
        params={"link": code},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert audit.status_code == 200, audit.text
    entries = [(e["actor_kind"], e["actor"], e["action"]) for e in audit.json()["items"]]
    assert entries == [("operator", f"{cluster.namespace}/team-link", "link.create")]

    # The workspace's own links stay editable.
    own = member.post("/v1/urls", json={"original_url": "https://example.com/own"})
    assert own.status_code == 201, own.text
    own_code = own.json()["short_code"]
    assert listed(member)[own_code]["managed_by"] is None
    edited = member.patch(f"/v1/urls/{own_code}", json={"original_url": "https://example.com/2"})
    assert edited.status_code == 200, edited.text


def test_a_namespace_naming_no_workspace_writes_nothing_and_says_so(
    cluster: Cluster,
    start_operator: OperatorFactory,
    postgres_server: PostgresServer,
    stack: Stack,
) -> None:
    missing = unique("nowhere-")
    cluster.label_namespace({WORKSPACE_LABEL: missing})
    start_operator()
    cluster.create("orphan", {"target": "https://example.com/orphan"})

    obj = cluster.wait_condition("orphan", "Synced", "False", "WorkspaceNotFound")
    synced = condition(obj, "Synced")
    assert synced is not None
    assert f"{WORKSPACE_LABEL}: {missing}" in synced["message"]
    assert "no such workspace" in synced["message"]
    rows = sql(
        postgres_server,
        stack,
        f"SELECT count(*) FROM links WHERE managed_by = '{cluster.namespace}/orphan'",
    )
    assert rows == "0"

    # Retried: once the workspace is made, the link is written into it.
    created = httpx.post(
        f"{stack.api.base_url}/v1/workspaces",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"slug": missing, "name": "Made late"},
    )
    assert created.status_code == 201, created.text
    code = cluster.wait_ready("orphan", timeout=60)["status"]["code"]
    assert sql(postgres_server, stack, f"SELECT owner FROM links WHERE code = '{code}'") == missing


def test_an_unlabelled_namespaces_links_stay_in_no_workspace(
    cluster: Cluster,
    start_operator: OperatorFactory,
    member: httpx.Client,
) -> None:
    start_operator()
    code = unique("nows-")
    cluster.create("plain", {"target": "https://example.com/plain", "code": code})
    cluster.wait_ready("plain")
    assert code not in listed(member)
    assert member.get(f"/v1/urls/{code}").status_code == 404


def test_labelling_a_namespace_later_moves_its_links_into_the_workspace(
    cluster: Cluster,
    start_operator: OperatorFactory,
    member: httpx.Client,
    workspace: str,
) -> None:
    start_operator(SHORTLINK_OPERATOR_DRIFT_INTERVAL="1")
    code = unique("late-")
    cluster.create("late", {"target": "https://example.com/late", "code": code})
    cluster.wait_ready("late")
    assert code not in listed(member)

    cluster.label_namespace({WORKSPACE_LABEL: workspace})
    wait_for("the link in the workspace", lambda: code in listed(member), 30)
    moved = f"Rewrote '{code}': its namespace's workspace changed"
    wait_for("a Repaired event", lambda: moved in [m for _, _, m in cluster.events("late")])
    cluster.label_namespace({WORKSPACE_LABEL: None})
    wait_for("the link out of the workspace", lambda: code not in listed(member), 30)
