"""What a PostgresCluster's author can't make the operator do (issue 19, findings 2
and 3), against the real kube-apiserver and the real operator process: use a Secret
that did not opt in, act in a namespace it isn't allowed in, or take over a Service
or EndpointSlice that isn't the operator's. A listening socket stands where a member
would be: it tells whether the operator connected at all."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.harness import ServiceProcess
from tests.harness.pgc import (
    CREDENTIALS_LABEL,
    GROUP,
    PLURAL,
    VERSION,
    ClusterResource,
)
from tests.harness.ports import free_port
from tests.support.waiting import wait_for

_numbers = itertools.count(1)
Start = Callable[..., ServiceProcess]


@pytest.fixture
def start(start_cluster_operator: Start) -> Start:
    return start_cluster_operator


@pytest.fixture
def member() -> Iterator[socket.socket]:
    """Where the PostgresCluster's member is: accepts, never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    yield listener
    listener.close()


def connected(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def create(pgc: ClusterResource, member_port: int, *, labelled: bool = True, **spec: Any) -> None:
    labels = {CREDENTIALS_LABEL: "true"} if labelled else {}
    pgc.core.create_namespaced_secret(
        pgc.namespace,
        {
            "metadata": {"name": "creds", "labels": labels},
            "stringData": {
                "superuser": "postgres",
                "superuser-password": "not-for-just-anyone",
                "replication-user": "replicator",
                "replication-password": "nor-this",
            },
        },
    )
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PostgresCluster",
        "metadata": {"name": pgc.name},
        "spec": {
            "members": [{"name": "pg0", "host": "127.0.0.1", "port": member_port}],
            "credentialsSecretRef": {"name": "creds"},
            "failoverDelay": 2,
            "probeInterval": 0.25,
            "probeTimeout": 1,
            **spec,
        },
    }
    pgc.objects.create_namespaced_custom_object(GROUP, VERSION, pgc.namespace, PLURAL, body)


def ready(pgc: ClusterResource, reason: str) -> dict[str, Any]:
    def has(status: dict[str, Any]) -> bool:
        return any(
            c["type"] == "Ready" and c["reason"] == reason for c in status.get("conditions") or []
        )

    status = pgc.wait(f"Ready reason {reason}", has)
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_an_unlabelled_secret_is_not_used(
    pgc: ClusterResource, start: Start, member: socket.socket
) -> None:
    create(pgc, member.getsockname()[1], labelled=False)
    start()
    condition = ready(pgc, "SecretNotAllowed")
    assert condition["status"] == "False"
    assert 'shortlink.io/postgres-credentials: "true"' in condition["message"]
    assert not connected(member), "the operator connected with a Secret that did not opt in"
    wait_for("its event", lambda: "SecretNotAllowed" in pgc.reasons(), 10)
    assert "members" not in pgc.status()
    # Labelled, it is used: the operator connects (so the listener did listen).
    pgc.core.patch_namespaced_secret(
        "creds", pgc.namespace, {"metadata": {"labels": {CREDENTIALS_LABEL: "true"}}}
    )
    wait_for("a probe once the Secret opted in", lambda: connected(member), 20)


def test_a_cluster_outside_the_allowed_namespaces_is_ignored_with_a_reason(
    pgc: ClusterResource, start: Start, member: socket.socket
) -> None:
    create(pgc, member.getsockname()[1])
    start(SHORTLINK_OPERATOR_POSTGRES_NAMESPACES="databases")
    condition = ready(pgc, "NamespaceNotAllowed")
    assert condition["status"] == "False"
    assert "only in databases" in condition["message"]
    assert "SHORTLINK_OPERATOR_POSTGRES_NAMESPACES" in condition["message"]
    assert not connected(member)
    wait_for("its event", lambda: "NamespaceNotAllowed" in pgc.reasons(), 10)


def test_a_foreign_service_and_endpointslice_are_left_untouched(
    pgc: ClusterResource, start: Start
) -> None:
    ns = pgc.namespace
    # Someone else's: a Service with a selector, and a slice of another Service.
    pgc.core.create_namespaced_service(
        ns,
        {
            "metadata": {"name": "pg-rw", "labels": {"app": "web"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    pgc.discovery.create_namespaced_endpoint_slice(
        ns,
        {
            "metadata": {
                "name": "pg-ro",
                "labels": {
                    "kubernetes.io/service-name": "web",
                    "app.kubernetes.io/managed-by": "someone-else",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.1.2.3"]}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        },
    )
    service_before = pgc.core.read_namespaced_service("pg-rw", ns)
    slice_before = pgc.discovery.read_namespaced_endpoint_slice("pg-ro", ns)
    create(pgc, free_port(), readWriteService="pg-rw", readOnlyService="pg-ro")
    start()

    def published(status: dict[str, Any]) -> bool:
        found = [c for c in status.get("conditions") or [] if c["type"] == "Published"]
        return bool(found) and found[0]["status"] == "False"

    status = pgc.wait("Published False", published)
    condition = next(c for c in status["conditions"] if c["type"] == "Published")
    assert condition["reason"] == "ServiceNotManaged"
    assert f"Service {ns}/pg-rw exists and is not the operator's" in condition["message"]
    assert f"EndpointSlice {ns}/pg-ro exists and is not the operator's" in condition["message"]
    service_after = pgc.core.read_namespaced_service("pg-rw", ns)
    slice_after = pgc.discovery.read_namespaced_endpoint_slice("pg-ro", ns)
    assert service_after.metadata.resource_version == service_before.metadata.resource_version
    assert service_after.spec.selector == {"app": "web"}
    assert slice_after.metadata.resource_version == slice_before.metadata.resource_version
    assert [e.addresses for e in slice_after.endpoints] == [["10.1.2.3"]]
    # What was free to take is the operator's: the Service pg-ro, created and labelled.
    created = pgc.core.read_namespaced_service("pg-ro", ns)
    assert created.metadata.labels["app.kubernetes.io/managed-by"] == "shortlink-operator"
    assert pgc.endpoints("pg-rw") == []  # no slice was ever written for it
