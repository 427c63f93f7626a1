"""A PostgresCluster's spec and status in the failover domain's terms, and back.

Pure: the spec becomes a ClusterSpec (the schema has checked and defaulted it), the
status becomes what decisions remember (current primary, timeline, synchronous
standbys, an intent in progress, who is fenced), and a round of probes plus a
decision becomes the status to write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shortlink.domain.expiry import format_instant
from shortlink.domain.failover import (
    ClusterSpec,
    Decision,
    Intent,
    Member,
    Probe,
    Remembered,
    format_lsn,
    member_views,
    parse_lsn,
)
from shortlink.operator.conditions import Condition, render_conditions

READY = "Ready"
REPLICATED = "Replicated"
PUBLISHED = "Published"
# Problems that concern replication, not whether writes are taken.
_REPLICATION_REASONS = frozenset(
    {"StandbyUnreachable", "StandbyNotStreaming", "MemberFenced", "NoSynchronousStandby"}
)


@dataclass(frozen=True, slots=True)
class SecretKeys:
    name: str
    superuser: str = "superuser"
    superuser_password: str = "superuser-password"
    replication_user: str = "replication-user"
    replication_password: str = "replication-password"


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """The whole spec: the domain's part and the Kubernetes part."""

    cluster: ClusterSpec
    secret: SecretKeys
    database: str = "postgres"
    read_write_service: str | None = None
    read_only_service: str | None = None


def cluster_config(spec: Mapping[str, Any]) -> ClusterConfig:
    defaults = ClusterSpec(())
    members = tuple(
        Member(str(m["name"]), str(m["host"]), int(m.get("port", 5432)))
        for m in spec.get("members") or []
    )
    secret = spec.get("credentialsSecretRef") or {}
    switchover = spec.get("switchover") or {}
    return ClusterConfig(
        ClusterSpec(
            members,
            failover_delay=float(spec.get("failoverDelay", defaults.failover_delay)),
            probe_interval=float(spec.get("probeInterval", defaults.probe_interval)),
            probe_timeout=float(spec.get("probeTimeout", defaults.probe_timeout)),
            max_lag=int(spec.get("maxLagOnFailover", defaults.max_lag)),
            durability="preferred" if spec.get("durability") == "preferred" else "required",
            switchover_to=switchover.get("to"),
        ),
        SecretKeys(
            str(secret.get("name", "")),
            secret.get("superuserKey", "superuser"),
            secret.get("superuserPasswordKey", "superuser-password"),
            secret.get("replicationUserKey", "replication-user"),
            secret.get("replicationPasswordKey", "replication-password"),
        ),
        str(spec.get("database", "postgres")),
        spec.get("readWriteService"),
        spec.get("readOnlyService"),
    )


def remembered(status: Mapping[str, Any]) -> Remembered:
    intent = status.get("failover")
    return Remembered(
        current_primary=status.get("currentPrimary"),
        timeline=status.get("timeline"),
        primary_lsn=parse_lsn(status.get("primaryLsn")),
        synchronous_standbys=tuple(status.get("synchronousStandbys") or ()),
        intent=(
            Intent(
                intent.get("kind", "failover"),
                intent.get("from"),
                intent.get("to"),
                intent.get("detectedAt"),
                intent.get("startedAt"),
            )
            if intent
            else None
        ),
        fenced=frozenset(str(m["name"]) for m in status.get("members") or [] if m.get("fenced")),
        primary_started_at=next(
            (
                m.get("startedAt")
                for m in status.get("members") or []
                if m.get("name") == status.get("currentPrimary")
            ),
            None,
        ),
    )


def intent_status(intent: Intent) -> dict[str, Any]:
    rendered = {
        "kind": intent.kind,
        "from": intent.from_member,
        "to": intent.to,
        "detectedAt": intent.detected_at,
        "startedAt": intent.started_at,
    }
    return {key: value for key, value in rendered.items() if value is not None}


def cluster_status(
    config: ClusterConfig,
    probes: Mapping[str, Probe],
    decision: Decision,
    before: Mapping[str, Any],
    generation: int,
    now: datetime,
    fenced_now: Sequence[str] = (),
    unpublished: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The status to write after a tick (without failover/lastFailover bookkeeping).
    ``unpublished``: (reason, message) of each Service left alone (not the operator's)."""
    memory = remembered(before)
    memory = replace(memory, fenced=memory.fenced | frozenset(fenced_now))
    primary = decision.primary or memory.current_primary
    head = probes.get(primary) if primary is not None else None
    head_ok = head is not None and head.reachable and not head.in_recovery
    synchronous = (
        tuple(sorted(r.name for r in head.replicas if r.synchronous))
        if head_ok and head is not None
        else memory.synchronous_standbys
    )
    if head_ok and head is not None and decision.set_synchronous is not None:
        synchronous = tuple(decision.set_synchronous)
    previous_members = {str(m.get("name")): m for m in before.get("members") or []}
    members = []
    stamp = format_instant(now.replace(microsecond=0))
    for view in member_views(config.cluster, probes, primary, memory, synchronous):
        probe = probes.get(view.name)
        fenced = view.fenced or view.name in fenced_now
        entry: dict[str, Any] = {
            "name": view.name,
            "role": "fenced" if fenced else view.role,
            "reachable": view.reachable,
            "streaming": view.streaming,
            "synchronous": view.synchronous,
            "fenced": fenced,
        }
        if probe is not None and probe.reachable:
            entry["lastSeen"] = stamp
            if probe.received_lsn is not None:
                entry["receivedLsn"] = format_lsn(probe.received_lsn)
            if probe.replayed_lsn is not None:
                entry["replayedLsn"] = format_lsn(probe.replayed_lsn)
            if probe.timeline is not None:
                entry["timeline"] = probe.timeline
            if probe.started_at is not None:
                entry["startedAt"] = probe.started_at
        else:
            for kept in ("lastSeen", "startedAt"):
                seen = previous_members.get(view.name, {}).get(kept)
                if seen:
                    entry[kept] = seen
            entry["error"] = (probe.error if probe else None) or "not probed"
        if view.lag_bytes is not None:
            entry["lagBytes"] = view.lag_bytes
        members.append(entry)

    status: dict[str, Any] = {
        "phase": decision.phase,
        "members": members,
        "synchronousStandbys": list(synchronous),
        "observedGeneration": generation,
    }
    if primary is not None:
        status["currentPrimary"] = primary
    if head_ok and head is not None:
        if head.timeline is not None:
            status["timeline"] = head.timeline
        if head.received_lsn is not None:
            status["primaryLsn"] = format_lsn(head.received_lsn)
    status["conditions"] = render_conditions(
        conditions(decision, head is not None and head.healthy_primary)
        + published(config, unpublished),
        before.get("conditions") or [],
        generation,
        now,
    )
    return status


def published(config: ClusterConfig, refused: Sequence[tuple[str, str]]) -> list[Condition]:
    """Published: the read-write/read-only Services are the operator's and list the
    members (none asked for: no condition)."""
    services = [s for s in (config.read_write_service, config.read_only_service) if s]
    if not services:
        return []
    if refused:
        return [Condition(PUBLISHED, "False", refused[0][0], "; ".join(m for _, m in refused))]
    return [Condition(PUBLISHED, "True", "Published", f"{', '.join(services)} list the members")]


def refused_status(
    reason: str, message: str, before: Mapping[str, Any], generation: int, now: datetime
) -> dict[str, Any]:
    """The status of a cluster the operator won't act on (its namespace is not allowed,
    its Secret did not opt in): why, and that nothing was probed. The members' entries
    are left as they were last seen."""
    return {
        "phase": "Degraded" if before.get("currentPrimary") else "Initializing",
        "observedGeneration": generation,
        "conditions": render_conditions(
            [
                Condition(READY, "False", reason, message),
                Condition(REPLICATED, "Unknown", reason, "not probed"),
            ],
            before.get("conditions") or [],
            generation,
            now,
        ),
    }


def conditions(decision: Decision, takes_writes: bool) -> list[Condition]:
    """Ready: the primary commits (its heartbeat did); Replicated: every member streams
    and a synchronous standby acknowledges. The first problem of each kind is the reason."""
    writes = [p for p in decision.problems if p[0] not in _REPLICATION_REASONS]
    replication = [p for p in decision.problems if p[0] in _REPLICATION_REASONS]
    detail = "; ".join(m for _, m in writes)
    if takes_writes:
        message = f"{decision.primary} takes writes" + (f"; {detail}" if detail else "")
        ready = Condition(READY, "True", writes[0][0] if writes else "Healthy", message)
    else:
        reason = writes[0][0] if writes else "NoPrimary"
        ready = Condition(READY, "False", reason, detail or "no primary takes writes")
    replicated = (
        Condition(REPLICATED, "False", replication[0][0], "; ".join(m for _, m in replication))
        if replication
        else Condition(REPLICATED, "True", "Healthy", "every member streams")
    )
    return [ready, replicated]
