"""Kubernetes-native access (issue 21): in-cluster automation calls the API with its
ServiceAccount token, bound to the audience 'shortlink'; the API asks the real
kube-apiserver of the harness (TokenReview) and gives the account the workspace role
SHORTLINK_SERVICE_ACCOUNT_ROLES names. No API key involved."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from kubernetes import client

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.kube import KubeControlPlane
from tests.harness.stack import API_KEY, start_stack
from tests.support.waiting import wait_for

AUDIENCE = "shortlink"
WORKSPACE = "team-k"


@dataclass(frozen=True)
class Cluster:
    api: ServiceProcess
    kube: KubeControlPlane
    namespace: str

    def token(self, account: str, audiences: list[str] | None = None) -> str:
        if audiences is None:
            audiences = [AUDIENCE]
        return self.kube.service_account_token(self.namespace, account, 600, audiences)

    def call(self, method: str, path: str, token: str, json: object = None) -> httpx.Response:
        return httpx.request(
            method, f"{self.api.base_url}{path}", json=json,
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip


def _create_accounts(kube: KubeControlPlane, namespace: str, *names: str) -> None:
    with kube.api_client() as api:
        for name in names:
            account = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
            client.CoreV1Api(api).create_namespaced_service_account(namespace, account)


@pytest.fixture(scope="module")
def cluster(
    kube_control_plane: KubeControlPlane,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    namespace = kube_control_plane.create_namespace(f"sa-{uuid.uuid4().hex[:8]}")
    _create_accounts(kube_control_plane, namespace, "gitops", "reader", "stranger", "leaver")
    # The API's own credentials for TokenReview (in a cluster: its projected token).
    own_token = tmp_path_factory.mktemp("sa-token") / "token"
    own_token.write_text(kube_control_plane.token + "\n")
    roles = ",".join(
        f"{namespace}/{account}={WORKSPACE}:{role}"
        for account, role in (("gitops", "editor"), ("reader", "viewer"), ("leaver", "editor"))
    )
    api, redirector, _ = start_stack(
        postgres_server, redis_server, tmp_path_factory.mktemp("sa-logs"),
        SHORTLINK_SERVICE_ACCOUNT_ROLES=roles,
        SHORTLINK_KUBERNETES_URL=kube_control_plane.server,
        SHORTLINK_KUBERNETES_TOKEN_FILE=str(own_token),
        SHORTLINK_KUBERNETES_CA_FILE=str(kube_control_plane.ca_file),
    )  # fmt: skip
    admin = {"Authorization": f"Bearer {API_KEY}"}
    created = httpx.post(f"{api.base_url}/v1/workspaces", headers=admin,
                         json={"slug": WORKSPACE, "name": "Team K"})  # fmt: skip
    assert created.status_code == 201, created.text
    yield Cluster(api, kube_control_plane, namespace)
    redirector.stop()
    api.stop()


def _links(cluster: Cluster) -> int:
    listed = cluster.call("GET", "/v1/urls?limit=100", cluster.token("reader"))
    assert listed.status_code == 200, listed.text
    return len(listed.json()["items"])


def test_an_accounts_token_acts_with_its_configured_role(cluster: Cluster) -> None:
    token = cluster.token("gitops")
    created = cluster.call(
        "POST", "/v1/urls", token, json={"original_url": "https://example.com/from-a-pod"}
    )
    assert created.status_code == 201, created.text
    workspace = cluster.call("GET", "/v1/workspace", token).json()
    assert (workspace["slug"], workspace["role"]) == (WORKSPACE, "editor")
    audit = httpx.get(
        f"{cluster.api.base_url}/v1/workspace/audit",
        params={"link": created.json()["short_code"]},
        headers={"Authorization": f"Bearer {cluster.token('gitops')}"},
    )
    assert audit.status_code == 403  # an editor does not read the log: an admin key does
    key = httpx.post(
        f"{cluster.api.base_url}/v1/api-keys", headers={"Authorization": f"Bearer {API_KEY}"},
        json={"name": "auditor", "owner": WORKSPACE, "role": "admin"},
    ).json()["key"]  # fmt: skip
    entries = cluster.call(
        "GET", f"/v1/workspace/audit?link={created.json()['short_code']}", key
    ).json()["items"]
    assert [(e["actor_kind"], e["actor"]) for e in entries] == [
        ("service_account", f"system:serviceaccount:{cluster.namespace}:gitops")
    ]


def test_a_viewer_account_reads_but_may_not_write(cluster: Cluster) -> None:
    before = _links(cluster)
    refused = cluster.call(
        "POST", "/v1/urls", cluster.token("reader"), json={"original_url": "https://example.com/"}
    )
    assert refused.status_code == 403
    assert (refused.json()["error"], refused.json()["role"]) == ("FORBIDDEN", "viewer")
    assert _links(cluster) == before


@pytest.mark.parametrize(
    ("account", "audiences", "status", "code"),
    [
        ("gitops", [], 401, "UNAUTHORIZED"),  # the API server's own audience, not ours
        ("gitops", ["another-app"], 401, "UNAUTHORIZED"),
        ("stranger", None, 403, "NOT_A_MEMBER"),  # a real account given no role
    ],
)
def test_tokens_for_another_audience_or_account_are_refused(
    cluster: Cluster, account: str, audiences: list[str] | None, status: int, code: str
) -> None:
    before = _links(cluster)
    refused = cluster.call(
        "POST", "/v1/urls", cluster.token(account, audiences),
        json={"original_url": "https://example.com/nope"},
    )  # fmt: skip
    assert refused.status_code == status, refused.text
    assert refused.json()["error"] == code
    assert _links(cluster) == before


def test_a_forged_token_is_refused(cluster: Cluster) -> None:
    """Claims of our choosing, signed by no key of the cluster's."""
    real = cluster.token("reader")
    header, _, signature = real.split(".")
    account = f"system:serviceaccount:{cluster.namespace}:gitops"
    claims = {"aud": [AUDIENCE], "iss": "https://kubernetes.default.svc.cluster.local",
              "sub": account, "exp": 4102444800}  # fmt: skip
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused = cluster.call("GET", "/v1/urls", f"{header}.{body}.{signature}")
    assert refused.status_code == 401 and refused.json()["error"] == "UNAUTHORIZED"


def _token_reviews(cluster: Cluster) -> float:
    """TokenReviews the API server has answered (its own metrics)."""
    metrics = httpx.get(
        f"{cluster.kube.server}/metrics", verify=cluster.kube.ssl_context(), timeout=10,
        headers={"Authorization": f"Bearer {cluster.kube.token}"},
    ).text  # fmt: skip
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("apiserver_request_total{") and 'resource="tokenreviews"' in line
    )


def test_an_accepted_token_is_reviewed_once_per_ten_seconds(cluster: Cluster) -> None:
    token = cluster.token("reader")
    before = _token_reviews(cluster)
    for _ in range(5):
        assert cluster.call("GET", "/v1/urls", token).status_code == 200
    assert _token_reviews(cluster) - before == 1


def test_a_deleted_accounts_token_stops_working(cluster: Cluster) -> None:
    """The API server checks the account still exists (as its informer sees it: within
    seconds); the API takes an accepted token for 10 s before asking again."""
    token = cluster.token("leaver")
    assert cluster.call("GET", "/v1/urls", token).status_code == 200
    with cluster.kube.api_client() as api:
        client.CoreV1Api(api).delete_namespaced_service_account("leaver", cluster.namespace)
    refused = wait_for(
        "the deleted account's token refused",
        lambda: (answer := cluster.call("GET", "/v1/urls", token)).status_code == 401 and answer,
        timeout=30,
    )
    assert refused.json()["error"] == "UNAUTHORIZED"
