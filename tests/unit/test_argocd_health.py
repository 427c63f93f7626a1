"""Argo CD health checks (gitops/argocd) under Debian's lua5.1, on hand-written statuses
for the states a running operator rarely shows for long (its real statuses: the cluster
e2e tests and tests/integration/operator/test_failover.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.argocd import health


def link(generation: int, observed: int | None, ready: dict[str, Any] | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": "ShortLink", "metadata": {"generation": generation}}
    if observed is not None:
        conditions = [{"type": "Ready", "observedGeneration": observed, **(ready or {})}]
        obj["status"] = {"observedGeneration": observed, "conditions": conditions}
    return obj


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (link(1, None, None), "Progressing"),
        (link(2, 1, {"status": "True", "reason": "Synced"}), "Progressing"),
        (link(2, 2, {"status": "True", "reason": "Synced", "message": "Served"}), "Healthy"),
        (link(2, 2, {"status": "True", "reason": "Inactive"}), "Suspended"),
        (link(2, 2, {"status": "False", "reason": "CodeTaken"}), "Degraded"),
        (link(2, 2, {"status": "Unknown"}), "Progressing"),
    ],
)
def test_shortlink_health(obj: dict[str, Any], expected: str) -> None:
    assert health("ShortLink", obj)[0] == expected


def cluster(phase: str, ready: str, replicated: str = "True") -> dict[str, Any]:
    return {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "phase": phase,
            "conditions": [
                {"type": "Ready", "status": ready, "reason": "R", "message": "m"},
                {"type": "Replicated", "status": replicated, "message": "standby lag"},
            ],
        },
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"metadata": {"generation": 1}}, "Progressing"),
        (cluster("Initializing", "False"), "Progressing"),
        (cluster("FailingOver", "False"), "Progressing"),
        (cluster("SwitchingOver", "True"), "Progressing"),
        (cluster("Healthy", "True"), "Healthy"),
        (cluster("Degraded", "True", "False"), "Degraded"),
        (cluster("Healthy", "False"), "Degraded"),
    ],
)
def test_postgrescluster_health(obj: dict[str, Any], expected: str) -> None:
    assert health("PostgresCluster", obj)[0] == expected
