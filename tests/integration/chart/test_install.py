"""`helm install`, `upgrade` and `uninstall` for real against a kube-apiserver of its own
(no controllers: objects are stored, pods never run): NOTES say what to do next, a changed
setting changes the pods' checksum, a generated secret survives the upgrade, and the
uninstall keeps the CRDs and the users' ShortLinks."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness.chart import CHART, helm
from tests.harness.kube import KubeControlPlane, ensure_kube_binaries
from tests.harness.shortlinks import Cluster

NAMESPACE = "shortlink"


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeControlPlane]:
    # Not the session's control plane: there, other tests create the CRDs outside Helm.
    base = tmp_path_factory.mktemp("kube-helm")
    with KubeControlPlane(base, binaries=ensure_kube_binaries()) as control_plane:
        yield control_plane


def run_helm(kube: KubeControlPlane, *args: str) -> str:
    return helm(*args, "--kubeconfig", str(kube.kubeconfig), "--namespace", NAMESPACE)


def read(kube: KubeControlPlane, path: str) -> dict[str, Any]:
    with httpx.Client(verify=kube.ssl_context(), timeout=10) as http:
        response = http.get(kube.server + path, headers={"Authorization": f"Bearer {kube.token}"})
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def api_pod_annotations(kube: KubeControlPlane) -> dict[str, str]:
    deployment = read(kube, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/sl-shortlink-api")
    return dict(deployment["spec"]["template"]["metadata"]["annotations"])


def secret_key(kube: KubeControlPlane) -> str:
    secret = read(kube, f"/api/v1/namespaces/{NAMESPACE}/secrets/sl-shortlink")
    return base64.b64decode(secret["data"]["SHORTLINK_SECRET_KEY"]).decode()


def test_install_upgrade_uninstall_keeps_crds_and_shortlinks(kube: KubeControlPlane) -> None:
    installed = run_helm(kube, "install", "sl", str(CHART), "--create-namespace")
    assert "STATUS: deployed" in installed
    notes = installed.split("NOTES:", 1)[1]
    assert f"kubectl -n {NAMESPACE} rollout status deployment/sl-shortlink-api" in notes
    assert "shortlink create-api-key" in notes
    assert "kept on `helm uninstall`" in notes
    generated = secret_key(kube)
    assert len(generated) >= 32
    before = api_pod_annotations(kube)

    kube.create_namespace("links")
    cluster = Cluster(kube, "links")
    try:
        cluster.create("kept", {"code": "kept-link", "target": "https://example.com/kept"})
        run_helm(kube, "upgrade", "sl", str(CHART), "--set", "config.logLevel=DEBUG")
        after = api_pod_annotations(kube)
        assert after["checksum/config"] != before["checksum/config"]
        assert secret_key(kube) == generated  # looked up, not generated again

        uninstalled = run_helm(kube, "uninstall", "sl")
        assert "kept due to the resource policy" in uninstalled
        assert read(kube, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments")["items"] == []
        crds = read(kube, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]
        assert {c["metadata"]["name"] for c in crds} >= {
            "shortlinks.shortlink.io",
            "postgresclusters.shortlink.io",
        }
        kept = cluster.get("kept")
        assert kept is not None and kept["spec"]["target"] == "https://example.com/kept"
    finally:
        cluster.close()
