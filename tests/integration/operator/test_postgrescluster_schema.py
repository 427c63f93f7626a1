"""crds/postgrescluster.yaml on the real kube-apiserver: defaults, schema and CEL rules
at apply time, the status subresource, the printer columns."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness.kube import KubeControlPlane

GROUP, VERSION, PLURAL = "shortlink.io", "v1alpha1", "postgresclusters"
_numbers = itertools.count(1)

MEMBERS = [
    {"name": "pg0", "host": "pg-0.pg"},
    {"name": "pg1", "host": "pg-1.pg"},
    {"name": "pg2", "host": "pg-2.pg", "port": 5433},
]


@pytest.fixture
def objects(shortlink_crds: KubeControlPlane) -> Iterator[tuple[client.CustomObjectsApi, str]]:
    namespace = shortlink_crds.create_namespace(f"pgc-schema-{next(_numbers)}")
    with shortlink_crds.api_client() as api:
        yield client.CustomObjectsApi(api), namespace


def body(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PostgresCluster",
        "metadata": {"name": name},
        "spec": {"members": MEMBERS, "credentialsSecretRef": {"name": "pg"}, **spec},
    }


def create(objects: tuple[client.CustomObjectsApi, str], name: str, **spec: Any) -> Any:
    api, namespace = objects
    return api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body(name, **spec)
    )


def test_defaults_are_filled_in(objects: tuple[client.CustomObjectsApi, str]) -> None:
    created = create(objects, "defaults", readWriteService="pg-rw")
    spec = created["spec"]
    assert spec["failoverDelay"] == 10 and spec["probeInterval"] == 1
    assert spec["probeTimeout"] == 2 and spec["maxLagOnFailover"] == 1048576
    assert spec["durability"] == "required" and spec["database"] == "postgres"
    assert [m["port"] for m in spec["members"]] == [5432, 5432, 5433]
    assert spec["credentialsSecretRef"]["superuserKey"] == "superuser"


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({"members": [{"name": "a", "host": "h1"}, {"name": "a", "host": "h2"}]}, "Duplicate"),
        ({"members": [{"name": "a", "host": "h"}, {"name": "b", "host": "h"}]}, "share one host"),
        ({"members": []}, "spec.members"),
        ({"members": [{"name": "Bad_Name", "host": "h"}]}, "spec.members[0].name"),
        ({"switchover": {"to": "pg9"}}, "switchover.to must name one of the members"),
        ({"failoverDelay": 0.5}, "spec.failoverDelay"),
        ({"failoverDelay": 4000}, "spec.failoverDelay"),
        ({"failoverDelay": 2, "probeInterval": 3}, "probeInterval must not exceed"),
        ({"failoverDelay": 2, "probeTimeout": 5}, "probeTimeout must not exceed"),
        ({"durability": "sometimes"}, "spec.durability"),
        ({"maxLagOnFailover": -1}, "spec.maxLagOnFailover"),
        ({"readWriteService": "pg", "readOnlyService": "pg"}, "must differ"),
        ({"credentialsSecretRef": {}}, "spec.credentialsSecretRef.name"),
    ],
)
def test_invalid_specs_are_rejected_at_apply(
    objects: tuple[client.CustomObjectsApi, str], spec: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ApiException) as rejected:
        create(objects, "invalid", **spec)
    assert rejected.value.status == 422
    assert complaint in str(rejected.value.body)


def test_a_valid_switchover_and_the_status_subresource(
    objects: tuple[client.CustomObjectsApi, str], shortlink_crds: KubeControlPlane
) -> None:
    api, namespace = objects
    create(objects, "main", switchover={"to": "pg1"}, failoverDelay=2, probeInterval=0.5)
    status = {
        "currentPrimary": "pg0",
        "phase": "Healthy",
        "timeline": 1,
        "members": [{"name": "pg0", "role": "primary", "reachable": True, "lagBytes": 0}],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Healthy",
                "message": "ok",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "main", {"status": status}
    )
    # A spec write can't touch the status, a status write can't touch the spec.
    api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "main", {"status": {"phase": "Degraded"}}
    )
    found: Any = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "main")
    assert found["status"]["phase"] == "Healthy"
    with pytest.raises(ApiException) as rejected:
        api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, "main", {"status": {"phase": "Confused"}}
        )
    assert rejected.value.status == 422

    table = httpx.get(
        f"{shortlink_crds.server}/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}",
        headers={
            "Authorization": f"Bearer {shortlink_crds.token}",
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
        },
        verify=shortlink_crds.ssl_context(),
    ).json()
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns == ["Name", "Primary", "Phase", "Ready", "Age"]
    assert table["rows"][0]["cells"][1:4] == ["pg0", "Healthy", "True"]
