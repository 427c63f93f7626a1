"""One PostgresCluster's HA loop: probe every member, decide, act, report.

Runs in the Lease-holding replica only (kopf runs there alone), one loop per cluster
(a kopf daemon). Every tick re-reads the object, so decisions rest on the status as
stored, and every status write carries the resourceVersion read: a second replica
that somehow acts at the same time gets a conflict instead of overwriting. The
order of a failover (why: operator/README.md, "PostgreSQL failover"):

1. record the intent (status.failover, target not chosen) — a restarted operator
   resumes from it instead of starting over;
2. fence the old primary if it answers at all;
3. detach every standby (an empty primary_conninfo), so an old primary we could not
   fence has no synchronous standby left and can't acknowledge another commit;
4. re-probe, choose the most advanced eligible standby, record it as the target;
5. promote it, with synchronous_standby_names naming only the live standbys;
6. the next tick (at once) sees it writable: repoints the others, moves the
   read-write EndpointSlice, and records lastFailover.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shortlink.adapters.pg_cluster import ClusterControl, ClusterControlError, Credentials
from shortlink.domain.failover import (
    PHASES,
    Blocked,
    ClusterSpec,
    Decision,
    FailureTracker,
    Intent,
    Member,
    Probe,
    Remembered,
    caught_up,
    choose_candidate,
    decide,
    synchronous_standbys,
)
from shortlink.operator import metrics
from shortlink.operator.cluster_status import (
    ClusterConfig,
    cluster_config,
    cluster_status,
    intent_status,
    remembered,
)
from shortlink.operator.kube import Endpoint, Kube, KubeUnavailable, WriteConflict
from shortlink.operator.resource import API_VERSION, CLUSTER_KIND, ObjectRef

log = logging.getLogger(__name__)
_CREDENTIALS_TTL = 30.0
_DETACH_TIMEOUT = 2.0


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    """RFC 3339 to the millisecond: failover timings are in seconds, whole ones would
    round them by up to one."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class _Tick:
    """What one tick read: the object, its config and status, the probes."""

    ref: ObjectRef
    config: ClusterConfig
    status: dict[str, Any]
    generation: int
    resource_version: str
    probes: dict[str, Probe]

    @property
    def spec(self) -> ClusterSpec:
        return self.config.cluster

    @property
    def label(self) -> str:
        return self.ref.key

    def member(self, name: str) -> Member:
        found = self.spec.member(name)
        if found is None:
            raise KeyError(name)
        return found

    @property
    def owner(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": CLUSTER_KIND,
            "name": self.ref.name,
            "uid": self.ref.uid,
            "controller": True,
        }


class ClusterController:
    """The HA loop of every PostgresCluster (one ``run`` per cluster)."""

    def __init__(
        self,
        kube: Kube,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _now,
    ) -> None:
        self.kube = kube
        self._clock = clock
        self._wall = wall
        self._trackers: dict[str, FailureTracker] = {}
        self._credentials: dict[str, tuple[float, Credentials]] = {}
        self._promoted_at: dict[str, datetime] = {}

    async def run(self, ref: ObjectRef, stopped: Callable[[float], Any]) -> None:
        """Tick until ``stopped(timeout)`` (kopf's daemon flag wait) says stop."""
        log.info("postgres cluster watched", extra={"cluster": ref.key})
        try:
            while True:
                try:
                    delay = await self.tick(ref)
                except (KubeUnavailable, WriteConflict) as exc:
                    log.warning(
                        "cluster tick failed", extra={"cluster": ref.key, "error": str(exc)}
                    )
                    delay = 1.0
                if await stopped(delay):
                    break
        finally:
            self._trackers.pop(ref.key, None)
            log.info("postgres cluster released", extra={"cluster": ref.key})

    # -- one tick ---------------------------------------------------------------------

    async def tick(self, ref: ObjectRef) -> float:
        """Probe, decide, act, write the status; seconds until the next tick."""
        obj = await self.kube.get_cluster(ref.namespace, ref.name)
        if obj is None:
            return 5.0
        config = cluster_config(obj.get("spec") or {})
        tick = _Tick(
            ref,
            config,
            dict(obj.get("status") or {}),
            int(obj["metadata"].get("generation", 0)),
            str(obj["metadata"]["resourceVersion"]),
            {},
        )
        try:
            control = ClusterControl(await self._secret(tick), config.cluster.probe_timeout)
        except KubeUnavailable as exc:
            await self._event(tick, "Warning", "CredentialsUnavailable", exc.message)
            return max(5.0, config.cluster.probe_interval)
        tick.probes = await self._probe_all(control, config.cluster.members)
        memory = remembered(tick.status)
        tracker = self._trackers.setdefault(ref.key, FailureTracker(config.cluster.failover_delay))
        tracker.delay = config.cluster.failover_delay
        was_failing = tracker.since is not None
        decision = decide(config.cluster, tick.probes, memory, tracker, self._clock())
        if tracker.since is not None and not was_failing:
            await self._event(
                tick,
                "Warning",
                "PrimaryFailing",
                decision.problems[0][1] if decision.problems else "",
            )

        fenced = await self._fence(tick, control, decision.fence, cut_replication=True)
        acted = False
        if decision.step == "failover":
            acted = await self._failover(tick, control, memory, tracker, fenced)
        elif decision.step == "promote" and decision.target is not None:
            assert memory.intent is not None
            acted = await self._promote(tick, control, memory, memory.intent, fenced)
        elif decision.step == "switchover" and decision.target is not None:
            acted = await self._switchover(tick, control, memory, decision, fenced)
        if acted:
            return 0.0  # observe the result at once
        if decision.blocked is not None:
            await self._blocked(tick, decision.blocked)
        await self._repoint(tick, control, decision)
        await self._set_synchronous(tick, control, decision)
        await self._services(tick, decision)
        await self._write_status(tick, decision, memory, fenced)
        return config.cluster.probe_interval

    async def _probe_all(
        self, control: ClusterControl, members: tuple[Member, ...]
    ) -> dict[str, Probe]:
        found = await asyncio.gather(*(control.probe(m) for m in members))
        return {p.name: p for p in found}

    async def _secret(self, tick: _Tick) -> Credentials:
        key = f"{tick.ref.namespace}/{tick.config.secret.name}"
        cached = self._credentials.get(key)
        if cached is not None and self._clock() - cached[0] < _CREDENTIALS_TTL:
            return replace(cached[1], database=tick.config.database)
        keys = tick.config.secret
        ns = tick.ref.namespace

        async def value(item: str) -> str:
            return await self.kube.secret_value(ns, keys.name, item)

        credentials = Credentials(
            await value(keys.superuser),
            await value(keys.superuser_password),
            await value(keys.replication_user),
            await value(keys.replication_password),
            tick.config.database,
        )
        self._credentials[key] = (self._clock(), credentials)
        return credentials

    # -- steps ------------------------------------------------------------------------

    async def _fence(
        self, tick: _Tick, control: ClusterControl, names: tuple[str, ...], *, cut_replication: bool
    ) -> list[str]:
        fenced = []
        for name in names:
            try:
                await control.fence(tick.member(name), cut_replication=cut_replication)
            except ClusterControlError as exc:
                await self._event(tick, "Warning", "FenceFailed", f"{name}: {exc}")
                continue
            fenced.append(name)
            await self._event(
                tick, "Warning", "Fenced", f"{name} fenced: read-only, commits never acknowledged"
            )
        return fenced

    async def _record(self, tick: _Tick, status: dict[str, Any]) -> None:
        tick.resource_version = await self.kube.patch_cluster_status(
            tick.ref.namespace, tick.ref.name, status, tick.resource_version
        )

    async def _failover(
        self,
        tick: _Tick,
        control: ClusterControl,
        memory: Remembered,
        tracker: FailureTracker,
        fenced: list[str],
    ) -> bool:
        now = self._wall()
        intent = memory.intent
        if intent is None:
            detected = now - timedelta(seconds=tracker.failing_for(self._clock()))
            intent = Intent("failover", memory.current_primary, None, _stamp(detected), _stamp(now))
            await self._record(tick, {"phase": "FailingOver", "failover": intent_status(intent)})
            await self._event(
                tick,
                "Warning",
                "FailoverStarted",
                f"{intent.from_member} failed for {tick.spec.failover_delay:g}s; failing over",
            )
        old = intent.from_member
        if old is not None and old not in fenced:
            fenced += await self._fence(tick, control, (old,), cut_replication=True)
            if old not in fenced:
                await self._event(
                    tick, "Warning", "FenceDeferred", f"{old} unreachable; fenced as soon as seen"
                )
        # No standby streams from the old primary any more: unfenced, it still can't
        # get a synchronous acknowledgement.
        await self._detach(tick, control, exclude={old})
        fresh = await self._probe_all(control, tick.spec.members)
        choice = choose_candidate(tick.spec, fresh, memory, old)
        if isinstance(choice, Blocked):
            await self._blocked(tick, choice)
            return False
        intent = replace(intent, to=choice)
        await self._record(tick, {"failover": intent_status(intent)})
        tick.probes = fresh
        return await self._promote(tick, control, memory, intent, fenced, detached=True)

    async def _detach(self, tick: _Tick, control: ClusterControl, exclude: set[str | None]) -> None:
        standbys = [
            tick.member(p.name) for p in tick.probes.values() if p.standby and p.name not in exclude
        ]
        results = await asyncio.gather(
            *(control.detach(m, _DETACH_TIMEOUT) for m in standbys), return_exceptions=True
        )
        for member, result in zip(standbys, results, strict=True):
            if result is not True:
                log.warning(
                    "standby not detached",
                    extra={"cluster": tick.label, "member": member.name, "error": str(result)},
                )

    async def _promote(
        self,
        tick: _Tick,
        control: ClusterControl,
        memory: Remembered,
        intent: Intent,
        fenced: list[str],
        *,
        detached: bool = False,
    ) -> bool:
        assert intent.to is not None
        target = tick.member(intent.to)
        old = intent.from_member
        if (
            old is not None
            and old not in fenced
            and tick.probes.get(old, Probe(old, False)).writable
        ):
            fenced += await self._fence(
                tick, control, (old,), cut_replication=intent.kind == "failover"
            )
            if old not in fenced:
                return False  # a reachable old primary is fenced first, or nothing happens
        if intent.kind == "switchover":
            if not await self._catch_up(tick, control, target, old):
                return False
        elif not detached:
            await self._detach(tick, control, exclude={old, intent.to})
        synchronous = synchronous_standbys(tick.spec, tick.probes, intent.to, after_promotion=True)
        slots = [m.slot for m in tick.spec.members if m.name != intent.to]
        try:
            await control.promote(target, synchronous, slots)
        except ClusterControlError as exc:
            await self._event(tick, "Warning", "PromotionFailed", str(exc))
            return False
        self._promoted_at[tick.label] = self._wall()
        await self._event(
            tick,
            "Normal",
            "Promoted",
            f"{intent.to} promoted (was {old}); synchronous standbys: "
            f"{', '.join(synchronous) or 'none'}",
        )
        primary = target
        for name, probe in tick.probes.items():
            if name in {intent.to, old} or not probe.standby:
                continue
            try:
                await control.repoint(tick.member(name), primary)
                await self._event(tick, "Normal", "Repointed", f"{name} streams from {intent.to}")
            except ClusterControlError as exc:
                await self._event(tick, "Warning", "RepointFailed", str(exc))
        return True

    async def _catch_up(
        self, tick: _Tick, control: ClusterControl, target: Member, old: str | None
    ) -> bool:
        """A switchover promotes only a target holding all of the fenced primary's WAL."""
        if old is None:
            return True
        deadline = self._clock() + tick.spec.failover_delay
        behind = None
        while self._clock() < deadline:
            try:
                head = await control.current_lsn(tick.member(old))
                have = await control.current_lsn(target)
            except ClusterControlError as exc:
                behind = str(exc)
                await asyncio.sleep(0.05)
                continue
            check = caught_up(head or 0, have)
            if check.caught_up:
                return True
            behind = f"{check.behind} bytes behind"
            await asyncio.sleep(0.02)
        await self._event(
            tick, "Warning", "SwitchoverWaiting", f"{target.name} not caught up: {behind}"
        )
        return False

    async def _switchover(
        self,
        tick: _Tick,
        control: ClusterControl,
        memory: Remembered,
        decision: Decision,
        fenced: list[str],
    ) -> bool:
        assert decision.target is not None and decision.primary is not None
        now = self._wall()
        intent = Intent("switchover", decision.primary, decision.target, _stamp(now), _stamp(now))
        await self._record(tick, {"phase": "SwitchingOver", "failover": intent_status(intent)})
        await self._event(
            tick,
            "Normal",
            "SwitchoverStarted",
            f"switching over from {decision.primary} to {decision.target}",
        )
        return await self._promote(tick, control, memory, intent, fenced)

    async def _repoint(self, tick: _Tick, control: ClusterControl, decision: Decision) -> None:
        if not decision.repoint or decision.primary is None:
            return
        primary = tick.member(decision.primary)
        try:
            await control.ensure_slots(primary, [tick.member(n).slot for n in decision.repoint])
        except ClusterControlError as exc:
            await self._event(tick, "Warning", "RepointFailed", str(exc))
            return
        for name in decision.repoint:
            try:
                await control.repoint(tick.member(name), primary)
            except ClusterControlError as exc:
                await self._event(tick, "Warning", "RepointFailed", str(exc))
                continue
            await self._event(tick, "Normal", "Repointed", f"{name} streams from {primary.name}")

    async def _set_synchronous(
        self, tick: _Tick, control: ClusterControl, decision: Decision
    ) -> None:
        if decision.set_synchronous is None or decision.primary is None:
            return
        try:
            await control.set_synchronous(tick.member(decision.primary), decision.set_synchronous)
        except ClusterControlError as exc:
            await self._event(tick, "Warning", "SynchronousStandbysFailed", str(exc))
            return
        names = ", ".join(decision.set_synchronous)
        await self._event(
            tick,
            "Normal" if decision.set_synchronous else "Warning",
            "SynchronousStandbys",
            f"commits on {decision.primary} wait for ANY 1 of: {names}"
            if names
            else f"no healthy standby: commits on {decision.primary} are asynchronous",
        )

    async def _services(self, tick: _Tick, decision: Decision) -> None:
        """The read-write slice lists the primary only while it takes writes (empty
        during a failover: no client is sent to a primary being replaced); the
        read-only one the streaming standbys."""
        config = tick.config
        primary = decision.primary
        head = tick.probes.get(primary) if primary is not None else None
        writers = (
            [primary] if primary is not None and head is not None and head.healthy_primary else []
        )
        streaming = {r.name for r in head.replicas if r.streaming} if writers and head else set()
        readers = [m.name for m in tick.spec.members if m.name in streaming]
        for service, names in (
            (config.read_write_service, writers),
            (config.read_only_service, readers),
        ):
            if service is None:
                continue
            endpoints = [await _endpoint(tick.member(n)) for n in names]
            port = tick.spec.members[0].port
            try:
                await self.kube.ensure_service(tick.ref.namespace, service, port, tick.owner)
                changed = await self.kube.put_endpoints(
                    tick.ref.namespace, service, endpoints, tick.owner
                )
            except WriteConflict:
                continue  # someone wrote it meanwhile: the next tick looks again
            except KubeUnavailable as exc:
                # The status (and the next failover) must not wait for a Service.
                log.warning(
                    "endpoints not written", extra={"cluster": tick.label, "error": str(exc)}
                )
                continue
            if changed:
                await self._event(
                    tick,
                    "Normal",
                    "EndpointsUpdated",
                    f"Service {service} -> {', '.join(names) or 'no member'}",
                )

    async def _blocked(self, tick: _Tick, blocked: Blocked) -> None:
        previous = [c for c in tick.status.get("conditions") or [] if c.get("type") == "Ready"]
        if previous and previous[0].get("reason") == blocked.reason:
            return  # reported already
        metrics.POSTGRES_FAILOVER_BLOCKED.labels(tick.label, blocked.reason).inc()
        await self._event(tick, "Warning", blocked.reason, blocked.message)

    async def _write_status(
        self, tick: _Tick, decision: Decision, memory: Remembered, fenced: list[str]
    ) -> None:
        now = self._wall()
        status = cluster_status(
            tick.config, tick.probes, decision, tick.status, tick.generation, now, fenced
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
                    "promotedAt": _stamp(promoted),
                    "seconds": seconds,
                },
                counter: int(tick.status.get(counter) or 0) + 1,
            }
        if decision.abort is not None:
            status["failover"] = None
        changes = {k: v for k, v in status.items() if tick.status.get(k) != v}
        if changes:
            await self._record(tick, changes)
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
            await self._event(
                tick,
                "Normal",
                "FailoverCompleted" if done.kind == "failover" else "SwitchoverCompleted",
                f"{done.to} is the primary (was {done.from_member}); {seconds:g}s from "
                "detection to promotion",
            )
        if decision.abort is not None:
            await self._event(
                tick,
                "Normal",
                "FailoverCancelled",
                f"{decision.abort.from_member} recovered before any promotion",
            )
        if decision.adopted:
            await self._event(
                tick, "Warning", "PrimaryAdopted", f"{decision.primary} was found promoted"
            )

    async def _report_changes(self, tick: _Tick, status: dict[str, Any]) -> None:
        before = {str(m.get("name")): m for m in tick.status.get("members") or []}
        for member in status["members"]:
            old = before.get(member["name"], {})
            if old.get("role") == "fenced" and member["role"] == "standby":
                await self._event(
                    tick, "Normal", "Rejoined", f"{member['name']} rejoined as a standby"
                )
        if tick.status.get("phase") != status["phase"]:
            ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            replicated = next(c for c in status["conditions"] if c["type"] == "Replicated")
            cause = ready if ready["status"] != "True" else replicated
            await self._event(
                tick,
                "Normal" if status["phase"] == "Healthy" else "Warning",
                status["phase"],
                f"phase {status['phase']}: {cause['reason']}: {cause['message']}",
            )

    def _export(self, tick: _Tick, status: Mapping[str, Any]) -> None:
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

    async def _event(self, tick: _Tick, kind: str, reason: str, message: str) -> None:
        log.info(
            "postgres cluster event",
            extra={"cluster": tick.label, "reason": reason, "detail": message},
        )
        await self.kube.post_event(tick.ref, kind, reason, message, involved_kind=CLUSTER_KIND)


def _parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


async def _endpoint(member: Member) -> Endpoint:
    """kube-proxy routes only IP endpoints: a member's DNS name is resolved (on every
    write: a pod's IP changes when it restarts). What can't be an IP endpoint
    (loopback, link-local, unresolvable) is published as FQDN, for clients that
    read the slice themselves."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            member.host, member.port, type=socket.SOCK_STREAM
        )
    except OSError:
        infos = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]))
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            kind = "IPv6" if address.version == 6 else "IPv4"
            return Endpoint(str(address), member.port, member.name, kind)
    return Endpoint(member.host, member.port, member.name, "FQDN")
