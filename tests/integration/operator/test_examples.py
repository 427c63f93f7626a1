# ruff: noqa: E501  (cases read best one a line)
"""examples/ on the real kube-apiserver: every manifest is accepted by server-side apply
with strict field validation (a misspelt or unknown field fails, as `kubectl apply`
would); the real operator makes every ShortLink example Ready and the real redirector
serves it as declared; the operator reads every PostgresCluster example (members,
credentials under its key names) and reports each member."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import NO_OPTIONS, declared_targets
from shortlink.domain.urls import UrlPolicy
from shortlink.operator.links.spec_options import options_document
from tests.harness.chart import Manifest, ServerSideApply
from tests.harness.kube import KubeControlPlane
from tests.harness.pgc import ClusterResource
from tests.harness.shortlinks import Cluster
from tests.integration.operator.conftest import OperatorFactory, Stack

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SHORTLINKS = sorted((EXAMPLES / "shortlinks").glob("*.yaml"))
CLUSTERS = sorted((EXAMPLES / "postgresclusters").glob("*.yaml"))
# Examples 02 and 03 use the Secret 01 creates, as a platform team applying them in
# order would.
SHARED_CREDENTIALS = EXAMPLES / "postgresclusters" / "01-minimal.yaml"
_numbers = itertools.count(1)


def documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def contains(stored: Any, declared: Any) -> bool:
    """Whether the API server kept everything declared (it may add defaults)."""
    if isinstance(declared, dict):
        return isinstance(stored, dict) and all(
            key in stored and contains(stored[key], value) for key, value in declared.items()
        )
    if isinstance(declared, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(declared)
            and all(contains(s, d) for s, d in zip(stored, declared, strict=True))
        )
    return bool(stored == declared)


@pytest.fixture
def applier(shortlink_crds: KubeControlPlane) -> Iterator[ServerSideApply]:
    with ServerSideApply(shortlink_crds, field_manager="kubectl") as ssa:
        yield ssa


def apply(applier: ServerSideApply, path: Path, namespace: str) -> list[Manifest]:
    """Apply every document of ``path`` for real; the objects as stored."""
    stored = []
    for manifest in documents(path):
        result = applier.apply(manifest, namespace, dry_run=False)
        what = f"{path.parent.name}/{path.name}: {manifest['kind']} {manifest['metadata']['name']}"
        assert result.status in (200, 201), f"{what}: {result.body.get('message')}"
        assert result.warnings == [], f"{what}: {result.warnings}"
        if manifest["kind"] != "Secret":
            assert contains(result.body["spec"], manifest["spec"]), what
        stored.append(result.body)
    return stored


def test_every_example_is_indexed_and_explained() -> None:
    index = (EXAMPLES / "README.md").read_text()
    assert len(SHORTLINKS) >= 4 and len(CLUSTERS) >= 4
    for path in SHORTLINKS + CLUSTERS:
        assert f"]({path.parent.name}/{path.name})" in index, f"{path.name} not in README.md"
        header = path.read_text().splitlines()[0]
        assert header.startswith(f"# {path.name[:2]} · "), f"{path.name}: no header comment"


def test_a_misspelt_field_is_refused(cluster: Cluster, applier: ServerSideApply) -> None:
    """What makes the check above mean something: strict validation fails the apply."""
    (link,) = of_kind(documents(SHORTLINKS[0]), "ShortLink")
    link["spec"]["expiresAT"] = "2099-01-01T00:00:00Z"
    refused = applier.apply(link, cluster.namespace, dry_run=False)
    # kube-apiserver answers an apply patch that doesn't fit the schema with a 500
    # (kubectl prints the message).
    assert refused.status >= 400
    assert ".spec.expiresAT: field not declared in schema" in refused.body["message"]
    assert cluster.get(link["metadata"]["name"]) is None


_TO_X = {"target": "https://x.example/"}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"variants": [{"target": "https://a.example/", "weight": 0}, {"target": "https://b.example/", "weight": 1}]}, "weight"),
        ({"rules": [{"conditions": {"country": ["UK"]}, "action": _TO_X}]}, "country"),
        ({"rules": [{"conditions": {"time": {"windows": [{"start": "10:00", "end": "10:00"}]}}, "action": _TO_X}]}, "window is empty"),
        ({"rules": [{"conditions": {"time": {"from": "2030-01-01T00:00:00Z", "until": "2029-01-01T00:00:00Z"}}, "action": _TO_X}]}, "from must be before until"),
        ({"rules": [{"conditions": {"os": ["ios"]}, "action": {**_TO_X, "variants": [{"target": "https://a.example/", "weight": 1}] * 2}}]}, "exactly one of target or variants"),
        ({"validFrom": "2030-01-01T00:00:00Z", "expiresAt": "2029-01-01T00:00:00Z"}, "validFrom must be before"),
    ],
)  # fmt: skip
def test_bad_link_rules_are_refused_by_the_api_server(
    cluster: Cluster, applier: ServerSideApply, spec: dict[str, Any], says: str
) -> None:
    """The CRD's CEL rules state the domain's constraints: nothing is stored."""
    link = {
        "apiVersion": "shortlink.io/v1alpha1",
        "kind": "ShortLink",
        "metadata": {"name": "refused-rules"},
        "spec": {"target": "https://example.com/", **spec},
    }
    refused = applier.apply(link, cluster.namespace, dry_run=False)
    assert refused.status >= 400, refused.body
    assert says in str(refused.body.get("message", "")), refused.body


@pytest.mark.parametrize("path", SHORTLINKS, ids=lambda p: p.stem)
def test_shortlink_example_is_ready_and_served(
    path: Path,
    cluster: Cluster,
    start_operator: OperatorFactory,
    applier: ServerSideApply,
    visitor: httpx.Client,
    api: httpx.Client,
    stack: Stack,
) -> None:
    start_operator()
    manifests = documents(path)
    apply(applier, path, cluster.namespace)
    passwords = {s["metadata"]["name"]: s["stringData"] for s in of_kind(manifests, "Secret")}
    links = of_kind(manifests, "ShortLink")
    assert links, f"{path.name} declares no ShortLink"
    for link in links:
        spec = link["spec"]
        status = cluster.wait_ready(link["metadata"]["name"])["status"]
        code = status["code"]
        assert code == spec.get("code", code)
        assert status["shortUrl"] == f"{stack.base_url}/{code}"
        headers = {}
        ref = spec.get("passwordSecretRef")
        if ref is not None:
            gate = visitor.get(f"/{code}")
            assert gate.status_code == 403 and gate.json()["error"] == "PASSWORD_REQUIRED"
            password = passwords[ref["name"]][ref.get("key", "password")]
            unlocked = api.post(f"/v1/urls/{code}/unlock", json={"password": password})
            assert unlocked.status_code == 200, unlocked.text
            headers["Cookie"] = f"unlock_token={unlocked.json()['unlock_token']}"
        answer = visitor.get(f"/{code}", headers=headers)
        options = parse_link_options(options_document(spec), UrlPolicy())
        if options == NO_OPTIONS:
            assert answer.status_code == spec.get("redirectType", 302)
            assert answer.headers["location"] == spec["target"]
        else:  # rules decide: one of the declared targets, with the link's parameters
            bare = {url.split("?")[0] for url in declared_targets(options, spec["target"])}
            assert answer.headers["location"].split("?")[0] in bare
            assert answer.status_code in {301, 302, 307, 308}


@pytest.mark.parametrize("path", CLUSTERS, ids=lambda p: p.stem)
def test_postgrescluster_example_is_accepted_and_read(
    path: Path, cluster: Cluster, start_operator: OperatorFactory, applier: ServerSideApply
) -> None:
    """No PostgreSQL answers at these hosts: the operator reads the example (its
    credentials under the key names it gives) and reports every member unreachable."""
    manifests = documents(path)
    if not of_kind(manifests, "Secret"):
        apply(applier, SHARED_CREDENTIALS, cluster.namespace)
    (declared,) = apply(applier, path, cluster.namespace)[-1:]
    assert declared["kind"] == "PostgresCluster"
    start_operator()
    resource = ClusterResource(
        cluster.control_plane, cluster.namespace, declared["metadata"]["name"]
    )
    try:
        names = [m["name"] for m in declared["spec"]["members"]]
        status = resource.wait(
            "every member reported",
            lambda s: [m["name"] for m in s.get("members") or []] == names,
        )
        assert not any(m["reachable"] for m in status["members"])
        assert status["phase"] != "Healthy"
        # Its credentials were used (the example's Secret opts in, with its key names).
        refused = {"SecretNotAllowed", "SecretNotFound", "InvalidSecret", "NamespaceNotAllowed"}
        assert not refused & set(resource.reasons())
    finally:
        resource.close()
