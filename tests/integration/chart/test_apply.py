"""Every rendered set is accepted by a real kube-apiserver (server-side apply, dry run, strict
field validation) in namespaces enforcing and warning on Pod Security "restricted", with the
Prometheus Operator's CRDs installed: no error, no warning."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from tests.harness.chart import CI_VALUES, Applied, Manifest, ServerSideApply, find, render
from tests.harness.kube import KubeControlPlane
from tests.harness.kube.binaries import prometheus_operator_crds
from tests.support.waiting import wait_for

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def kube(kube_control_plane: KubeControlPlane) -> KubeControlPlane:
    crds = prometheus_operator_crds()
    for kind in ("servicemonitors", "prometheusrules"):
        kube_control_plane.apply_crds(crds, pattern=f"monitoring.coreos.com_{kind}.yaml")
    return kube_control_plane


@pytest.fixture
def applier(kube: KubeControlPlane) -> Iterator[ServerSideApply]:
    with ServerSideApply(kube) as ssa:
        yield ssa


def restricted_namespace(kube: KubeControlPlane, name: str) -> str:
    with kube.api_client() as api:
        namespace = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=RESTRICTED))
        core = client.CoreV1Api(api)
        core.create_namespace(body=namespace)
        # No controller-manager here to make it: Pods need their ServiceAccount to exist.
        account = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="default"))
        core.create_namespaced_service_account(name, body=account)
    return name


def test_the_api_server_enforces_pod_security(
    kube: KubeControlPlane, applier: ServerSideApply
) -> None:
    """The check below means something: a privileged pod template draws a warning here."""
    namespace = restricted_namespace(kube, f"chart-psa-{next(_numbers)}")
    (deployment,) = find(render(), "Deployment", "sl-shortlink-redirector")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {"privileged": True}
    result = applier.apply(deployment, namespace)
    assert result.status in (200, 201)
    assert any("would violate PodSecurity" in w and "privileged" in w for w in result.warnings)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged"},
        "spec": {
            "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]
        },
    }
    refused = applier.apply(pod, namespace)
    assert refused.status == 403
    assert "violates PodSecurity" in refused.body["message"]


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.stem for p in CI_VALUES])
def test_every_rendered_object_is_accepted_without_warnings(
    kube: KubeControlPlane, applier: ServerSideApply, values: Path
) -> None:
    namespace = f"chart-{next(_numbers)}"
    manifests = render(values, namespace=namespace)
    restricted_namespace(kube, namespace)
    for extra in {m["metadata"]["namespace"] for m in manifests if "namespace" in m["metadata"]}:
        if extra != namespace:
            restricted_namespace(kube, extra)
    # CRDs for real (what the rest may need), everything else as a dry run.
    crds = find(manifests, "CustomResourceDefinition")
    for crd in crds:
        _assert_clean(crd, applier.apply(crd, namespace, dry_run=False))
    for manifest in manifests:
        if manifest["kind"] != "CustomResourceDefinition":
            _assert_clean(manifest, applier.apply(manifest, namespace))
    kinds = {m["kind"] for m in manifests}
    if values.stem == "full-values":
        assert {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "StatefulSet"} <= kinds


_RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def test_per_namespace_rbac_gets_only_the_watched_namespaces_themselves(
    kube: KubeControlPlane, applier: ServerSideApply
) -> None:
    """With operator.watchNamespaces there is no cluster-wide rule for namespaces, yet
    the operator reads each watched namespace's UID (issue 13, finding 9): the API
    server authorizes GET /api/v1/namespaces/<n> as a request in namespace <n>, so the
    Role there grants that one object, and no other namespace, nor a list."""
    number = next(_numbers)
    release = f"rbac{number}"
    home, watched, other = (
        kube.create_namespace(f"rbac-{kind}-{number}") for kind in ("home", "links", "other")
    )
    manifests = render(
        release=release, namespace=home, set_values={"operator.watchNamespaces": f"{{{watched}}}"}
    )
    for manifest in manifests:
        if manifest["kind"] in _RBAC_KINDS:
            _assert_clean(manifest, applier.apply(manifest, home, dry_run=False))
    token = kube.service_account_token(home, f"{release}-shortlink-operator", seconds=600)
    with httpx.Client(
        base_url=kube.server,
        headers={"Authorization": f"Bearer {token}"},
        verify=kube.ssl_context(),
        timeout=10,
    ) as operator:

        def status(path: str) -> int:
            return operator.get(path).status_code

        # The authorizer learns of new bindings through its informers: a moment.
        wait_for("the Role in effect", lambda: status(f"/api/v1/namespaces/{watched}") == 200, 15)
        got = operator.get(f"/api/v1/namespaces/{watched}").json()
        assert got["metadata"]["uid"]
        assert status(f"/api/v1/namespaces/{other}") == 403
        assert status(f"/api/v1/namespaces/{home}") == 403  # the release's own: Lease only
        assert status("/api/v1/namespaces") == 403
        assert status(f"/api/v1/namespaces/{watched}/secrets") == 403  # get by name only


def _assert_clean(manifest: Manifest, result: Applied) -> None:
    what = f"{manifest['kind']}/{manifest['metadata']['name']}"
    assert result.status in (200, 201), f"{what}: {result.status} {result.body}"
    assert result.warnings == [], what
