"""The cluster_upgrade benchmark's figures of a roll (pure: no I/O); the traffic's are
cluster_failover_figures' event_figures, the same for a roll as for a member's death."""

from __future__ import annotations

from typing import Any

from tests.harness.cluster.upgrade import Roll


def roll_figures(roll: Roll, desired_healthy: int) -> dict[str, Any]:
    """How long the roll took and the fewest Ready pods per component while it ran,
    beside the redirector's PodDisruptionBudget."""
    return {
        "roll_s": round(roll.took, 1),
        "helm_wait_s": round(roll.helm_took, 1),
        "fewest_ready": dict(roll.fewest_ready),
        "ready_samples": roll.samples,
        "redirector_pdb_desired_healthy": desired_healthy,
    }


def meets_target(event: dict[str, Any]) -> bool:
    """Issue 18, proof 4: every request answered during the roll (no failed create or
    warm redirect: a connection error, a 5xx), nothing acknowledged lost or doubled,
    the redirector never below its PDB's desiredHealthy, the api never without a
    Ready pod."""
    during, roll = event["during"], event["roll"]
    fewest = roll["fewest_ready"]
    return bool(
        during["failed_creates"] == during["failed_warm_redirects"] == 0
        and event["acked_writes_lost"] == event["duplicate_rows"] == 0
        and fewest["redirector"] >= roll["redirector_pdb_desired_healthy"] >= 1
        and fewest["api"] >= 1
    )
