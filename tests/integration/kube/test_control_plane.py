"""The kube harness: a real kube-apiserver that authenticates, authorizes,
serves CRDs, enforces their CEL rules and has a real status subresource."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import ssl
import sys
import uuid
from pathlib import Path
from typing import Any, cast

import aiohttp
import httpx
import pytest
import yaml  # type: ignore[import-untyped]
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.harness.kube import KubeControlPlane
from tests.harness.kube.binaries import kubernetes_version

GROUP = "harness.shortlink.test"
VERSION = "v1"
PLURAL = "gadgets"
CEL_MESSAGE = "minReplicas must not exceed maxReplicas"

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["minReplicas", "maxReplicas"],
                                "properties": {
                                    "minReplicas": {"type": "integer", "minimum": 0},
                                    "maxReplicas": {"type": "integer", "minimum": 0},
                                },
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.minReplicas <= self.maxReplicas",
                                        "message": CEL_MESSAGE,
                                    }
                                ],
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "observedGeneration": {"type": "integer"},
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def gadget_crd(
    kube_control_plane: KubeControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> str:
    directory = tmp_path_factory.mktemp("gadget-crd")
    (directory / "gadget.yaml").write_text(yaml.safe_dump(GADGET_CRD))
    assert kube_control_plane.apply_crds(directory) == [GADGET_CRD["metadata"]["name"]]
    return str(GADGET_CRD["metadata"]["name"])


@pytest.fixture
def api(kube_control_plane: KubeControlPlane) -> Any:
    with kube_control_plane.api_client() as api_client:
        yield api_client


@pytest.fixture
def namespace(kube_control_plane: KubeControlPlane) -> str:
    return kube_control_plane.create_namespace(f"test-{uuid.uuid4().hex[:10]}")


def gadget(name: str, min_replicas: int, max_replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Gadget",
        "metadata": {"name": name},
        "spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas},
    }


def as_dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return cast(dict[str, Any], value)


def test_apiserver_is_ready_and_checks_tokens(kube_control_plane: KubeControlPlane) -> None:
    ca = kube_control_plane.ssl_context()
    admin = {"Authorization": f"Bearer {kube_control_plane.token}"}
    ready = httpx.get(f"{kube_control_plane.server}/readyz", headers=admin, verify=ca)
    assert (ready.status_code, ready.text) == (200, "ok")

    namespaces = f"{kube_control_plane.server}/api/v1/namespaces"
    wrong = httpx.get(namespaces, headers={"Authorization": "Bearer not-the-token"}, verify=ca)
    assert wrong.status_code == 401
    anonymous = httpx.get(namespaces, verify=ca)
    assert anonymous.status_code == 403
    assert "system:anonymous" in anonymous.json()["message"]
    listed = httpx.get(namespaces, headers=admin, verify=ca)
    assert listed.status_code == 200
    assert {"default", "kube-system"} <= {n["metadata"]["name"] for n in listed.json()["items"]}


def test_kubeconfig_works_with_the_kubernetes_client(kube_control_plane: KubeControlPlane) -> None:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kube_control_plane.kubeconfig), client_configuration=configuration
    )
    assert configuration.host == kube_control_plane.server
    with client.ApiClient(configuration) as api_client:
        info = client.VersionApi(api_client).get_code()
        assert info.git_version == kubernetes_version()
        review = client.AuthenticationV1Api(api_client).create_self_subject_review(
            body=client.V1SelfSubjectReview()
        )
    assert review.status is not None and review.status.user_info is not None
    assert "system:masters" in (review.status.user_info.groups or [])


# kopf as an operator process sees it: KUBECONFIG set before anything is
# imported (the kubernetes client reads the variable once, at import).
KOPF_LOGINS = """
import json, logging, kopf
settings = kopf.OperatorSettings()
infos = {
    "client": kopf.login_via_client(logger=logging.getLogger(), settings=settings),
    "kubeconfig": kopf.login_with_kubeconfig(settings=settings),
}
print(json.dumps({
    name: {"server": info.server, "token": info.token, "ca_path": str(info.ca_path)}
    for name, info in infos.items()
}))
"""


async def test_kubeconfig_works_for_kopf(kube_control_plane: KubeControlPlane) -> None:
    env = {**os.environ, "KUBECONFIG": str(kube_control_plane.kubeconfig)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KOPF_LOGINS, env=env, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    assert process.returncode == 0
    logins = json.loads(stdout)
    assert set(logins) == {"client", "kubeconfig"}
    for info in logins.values():
        assert info["server"] == kube_control_plane.server
        assert info["token"] == kube_control_plane.token
    # kopf talks over aiohttp with an SSL context made from the CA file it found.
    login = logins["client"]
    context = ssl.create_default_context(cafile=login["ca_path"])
    headers = {"Authorization": f"Bearer {login['token']}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{login['server']}/version", ssl=context) as response,
    ):
        assert response.status == 200
        assert (await response.json())["gitVersion"] == kubernetes_version()


def test_apply_crds_replaces_and_skips_other_kinds(
    kube_control_plane: KubeControlPlane, tmp_path: Path, api: client.ApiClient
) -> None:
    crd = copy.deepcopy(GADGET_CRD)
    crd["metadata"]["name"] = f"widgets.{GROUP}"
    crd["spec"]["names"] = {"plural": "widgets", "singular": "widget", "kind": "Widget"}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-a-crd"}}
    path = tmp_path / "widgets.yaml"
    path.write_text(yaml.safe_dump_all([config_map, crd]))
    assert kube_control_plane.apply_crds(tmp_path) == [f"widgets.{GROUP}"]

    crd["spec"]["names"]["shortNames"] = ["wdg"]
    path.write_text(yaml.safe_dump(crd))
    assert kube_control_plane.apply_crds(tmp_path) == [f"widgets.{GROUP}"]
    stored = client.ApiextensionsV1Api(api).read_custom_resource_definition(f"widgets.{GROUP}")
    assert stored.spec.names.short_names == ["wdg"]


def test_custom_resource_round_trip(gadget_crd: str, namespace: str, api: client.ApiClient) -> None:
    objects = client.CustomObjectsApi(api)
    created = as_dict(
        objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, gadget("a", 1, 3)
        )
    )
    assert created["metadata"]["generation"] == 1
    read = as_dict(objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "a"))
    assert read["spec"] == {"minReplicas": 1, "maxReplicas": 3}
    assert read["metadata"]["uid"] == created["metadata"]["uid"]
    listed = as_dict(objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL))
    assert [item["metadata"]["name"] for item in listed["items"]] == ["a"]


def test_cel_rule_rejects_invalid_object(
    gadget_crd: str, namespace: str, api: client.ApiClient
) -> None:
    objects = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as rejected:
        objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, gadget("b", 5, 2)
        )
    assert rejected.value.status == 422
    assert CEL_MESSAGE in json.loads(rejected.value.body or "{}")["message"]
    with pytest.raises(ApiException) as missing:
        objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "b")
    assert missing.value.status == 404
    # The same rule guards updates, not only creates.
    objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, gadget("c", 1, 2))
    with pytest.raises(ApiException) as update_rejected:
        objects.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, "c", {"spec": {"minReplicas": 9}},
            _content_type="application/merge-patch+json",
        )  # fmt: skip
    assert update_rejected.value.status == 422


def test_status_subresource_server_side_apply(
    gadget_crd: str, namespace: str, api: client.ApiClient
) -> None:
    objects = client.CustomObjectsApi(api)
    objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, gadget("d", 1, 2))
    status = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Gadget",
        "metadata": {"name": "d"},
        "status": {"phase": "Ready", "observedGeneration": 1},
    }
    patched = as_dict(
        objects.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, "d", status,
            field_manager="harness-test", force=True,
            _content_type="application/apply-patch+yaml",
        )
    )  # fmt: skip
    assert patched["status"] == {"phase": "Ready", "observedGeneration": 1}
    assert patched["spec"] == {"minReplicas": 1, "maxReplicas": 2}
    assert patched["metadata"]["generation"] == 1  # status writes don't bump it
    managers = {
        (entry["manager"], entry["operation"], entry.get("subresource"))
        for entry in patched["metadata"]["managedFields"]
    }
    assert ("harness-test", "Apply", "status") in managers

    # Through the main resource, status is ignored: only the subresource writes it.
    objects.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "d",
        {"spec": {"maxReplicas": 4}, "status": {"phase": "Hacked"}},
        _content_type="application/merge-patch+json",
    )  # fmt: skip
    read = as_dict(objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "d"))
    assert read["spec"]["maxReplicas"] == 4
    assert read["metadata"]["generation"] == 2
    assert read["status"]["phase"] == "Ready"
