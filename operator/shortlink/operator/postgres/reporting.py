"""What a PostgresCluster's HA loop tells the world: its status (written with the
resourceVersion the tick read), its Events and its metrics. Events and metrics
follow the status that reports them, never precede it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from shortlink.domain.failover import PHASES, Blocked, Decision
from shortlink.operator import metrics
from shortlink.operator.conditions import status_changes
from shortlink.operator.kube import Kube
from shortlink.operator.postgres.status import cluster_status, refused_status
from shortlink.operator.postgres.tick import Tick, stamp
from shortlink.operator.resource import CLUSTER_KIND

log = logging.getLogger(__name__)


class Reporter:
    def __init__(self, kube: Kube, wall: Callable[[], datetime]) -> None:
        self._kube = kube
        self._wall = wall
        self._promoted_at: dict[str, datetime] = {}

    async def event(self, tick: Tick, kind: str, reason: str, message: str) -> None:
        log.info(
            "postgres cluster event",
            extra={"cluster": tick.label, "reason": reason, "detail": message},
        )
        await self._kube.post_event(tick.ref, kind, reason, message, involved_kind=CLUSTER_KIND)

    async def record(self, tick: Tick, status: dict[str, Any]) -> None:
        """Patch the status, only if the object is still at the version the tick read
        (WriteConflict otherwise: two replicas can't overwrite each other)."""
        tick.resource_version = await self._kube.patch_cluster_status(
            tick.ref.namespace, tick.ref.name, status, tick.resource_version
        )

    def promoted(self, tick: Tick) -> None:
        """Note the moment of a promotion: lastFailover reports it once it is seen."""
        self._promoted_at[tick.label] = self._wall()

    async def blocked(self, tick: Tick, blocked: Blocked) -> None:
        previous = [c for c in tick.status.get("conditions") or [] if c.get("type") == "Ready"]
        if previous and previous[0].get("reason") == blocked.reason:
            return  # reported already
        metrics.POSTGRES_FAILOVER_BLOCKED.labels(tick.label, blocked.reason).inc()
        await self.event(tick, "Warning", blocked.reason, blocked.message)

    async def refused(self, tick: Tick, reason: str, message: str) -> None:
        """The cluster is not acted on: say why in its status, and once in an event."""
        before = [c for c in tick.status.get("conditions") or [] if c.get("type") == "Ready"]
        status = refused_status(reason, message, tick.status, tick.generation, self._wall())
        changes = status_changes(tick.status, status)
        if changes:
            await self.record(tick, changes)
        if not before or before[0].get("reason") != reason:
            await self.event(tick, "Warning", reason, message)

    async def write_status(
        self,
        tick: Tick,
        decision: Decision,
        fenced: list[str],
        unpublished: Sequence[tuple[str, str]] = (),
    ) -> None:
        now = self._wall()
        status = cluster_status(
            tick.config,
            tick.probes,
            decision,
            tick.status,
            tick.generation,
            now,
            fenced,
            unpublished,
        )
        done = decision.finish
        if done is not None:
            promoted = self._promoted_at.pop(tick.label, now)
            detected = _parse_instant(done.detected_at) or promoted
            seconds = round(max(0.0, (promoted - detected).total_seconds()), 3)
            counter = "failovers" if done.kind == "failover" else "switchovers"
            status |= {
                "failover": None,
                "lastFailover": {
                    "kind": done.kind,
                    "from": done.from_member,
                    "to": done.to,
                    "detectedAt": done.detected_at,
                    "promotedAt": stamp(promoted),
                    "seconds": seconds,
                },
                counter: int(tick.status.get(counter) or 0) + 1,
            }
        if decision.abort is not None:
            status["failover"] = None
        changes = status_changes(tick.status, status)
        if changes:
            await self.record(tick, changes)
        # Events and metrics only once the status that reports them is stored.
        self._export(tick, status)
        await self._report_changes(tick, status)
        if done is not None:
            (
                metrics.POSTGRES_FAILOVERS
                if done.kind == "failover"
                else metrics.POSTGRES_SWITCHOVERS
            ).labels(tick.label).inc()
            metrics.POSTGRES_LAST_FAILOVER.labels(tick.label).set(seconds)
            await self.event(
                tick,
                "Normal",
                "FailoverCompleted" if done.kind == "failover" else "SwitchoverCompleted",
                f"{done.to} is the primary (was {done.from_member}); {seconds:g}s from "
                "detection to promotion",
            )
        if decision.abort is not None:
            await self.event(
                tick,
                "Normal",
                "FailoverCancelled",
                f"{decision.abort.from_member} recovered before any promotion",
            )
        if decision.adopted:
            await self.event(
                tick, "Warning", "PrimaryAdopted", f"{decision.primary} was found promoted"
            )

    async def _report_changes(self, tick: Tick, status: dict[str, Any]) -> None:
        before = {str(m.get("name")): m for m in tick.status.get("members") or []}
        for member in status["members"]:
            old = before.get(member["name"], {})
            if old.get("role") == "fenced" and member["role"] == "standby":
                await self.event(
                    tick, "Normal", "Rejoined", f"{member['name']} rejoined as a standby"
                )
        if tick.status.get("phase") != status["phase"]:
            ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            replicated = next(c for c in status["conditions"] if c["type"] == "Replicated")
            cause = ready if ready["status"] != "True" else replicated
            await self.event(
                tick,
                "Normal" if status["phase"] == "Healthy" else "Warning",
                status["phase"],
                f"phase {status['phase']}: {cause['reason']}: {cause['message']}",
            )

    def _export(self, tick: Tick, status: Mapping[str, Any]) -> None:
        label = tick.label
        for phase in PHASES:
            metrics.POSTGRES_PHASE.labels(label, phase).set(1 if status["phase"] == phase else 0)
        synchronous = set(status.get("synchronousStandbys") or [])
        streaming_sync = 0
        for member in status["members"]:
            name = member["name"]
            metrics.POSTGRES_MEMBER_UP.labels(label, name).set(1 if member["reachable"] else 0)
            metrics.POSTGRES_MEMBER_PRIMARY.labels(label, name).set(
                1 if member["role"] == "primary" else 0
            )
            metrics.POSTGRES_MEMBER_FENCED.labels(label, name).set(1 if member["fenced"] else 0)
            if "lagBytes" in member:
                metrics.POSTGRES_MEMBER_LAG.labels(label, name).set(member["lagBytes"])
            if name in synchronous and member["streaming"]:
                streaming_sync += 1
        metrics.POSTGRES_SYNCHRONOUS.labels(label).set(streaming_sync)
        metrics.POSTGRES_MAX_LAG.labels(label).set(tick.spec.max_lag)
        # Counters exported at 0 from the first tick, so the first increment shows as one.
        metrics.POSTGRES_FAILOVERS.labels(label)
        metrics.POSTGRES_SWITCHOVERS.labels(label)
        for reason in metrics.BLOCKED_REASONS:
            metrics.POSTGRES_FAILOVER_BLOCKED.labels(label, reason)


def _parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
