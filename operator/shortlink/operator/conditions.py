"""Kubernetes status conventions both resources follow (ShortLink, PostgresCluster):
condition objects whose lastTransitionTime moves only when their status flips, and
status patches holding only what changed.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shortlink.domain.expiry import format_instant

ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: ConditionStatus
    reason: str
    message: str


def find_condition(conditions: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def render_conditions(
    new: Sequence[Condition],
    previous: Sequence[Mapping[str, Any]],
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Kubernetes condition objects; lastTransitionTime moves only when status does."""
    rendered = []
    for condition in new:
        before = find_condition(previous, condition.type)
        changed = before is None or before.get("status") != condition.status
        rendered.append(
            {
                "type": condition.type,
                "status": condition.status,
                "reason": condition.reason,
                "message": condition.message,
                "observedGeneration": generation,
                "lastTransitionTime": (
                    format_instant(now.replace(microsecond=0))
                    if changed or before is None
                    else before.get("lastTransitionTime")
                ),
            }
        )
    return rendered


def status_changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields that differ: an unchanged resync writes nothing."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}
