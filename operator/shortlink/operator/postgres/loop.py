"""One PostgresCluster's HA loop: probe every member, decide, act, report.

Runs in the Lease-holding replica only (kopf runs there alone), one loop per cluster
(a kopf daemon). Every tick re-reads the object, so decisions rest on the status as
stored, and every status write carries the resourceVersion read: a second replica
that somehow acts at the same time gets a conflict instead of overwriting. The
order of a failover (actions.py; why: operator/README.md, "PostgreSQL failover"):

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

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shortlink.adapters.pg_cluster import ClusterControl, ClusterControlError, Credentials
from shortlink.domain.failover import FailureTracker, decide
from shortlink.operator.kube import CREDENTIALS_SECRET_LABEL, Kube, KubeUnavailable, WriteConflict
from shortlink.operator.postgres.actions import Actions, probe_all
from shortlink.operator.postgres.endpoints import Endpoints
from shortlink.operator.postgres.reporting import Reporter
from shortlink.operator.postgres.status import cluster_config, remembered
from shortlink.operator.postgres.tick import Tick
from shortlink.operator.resource import ObjectRef

log = logging.getLogger(__name__)
_CREDENTIALS_TTL = 30.0
# A refused cluster is looked at again this often (its Secret may have been labelled).
_REFUSED_INTERVAL = 30.0
# The optional Secret key with a CA: connect with TLS, verifying the member's name.
CA_KEY = "ca.crt"


def _now() -> datetime:
    return datetime.now(UTC)


class ClusterLoop:
    """The HA loop of every PostgresCluster (one ``run`` per cluster)."""

    def __init__(
        self,
        kube: Kube,
        namespaces: Collection[str],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _now,
    ) -> None:
        self.kube = kube
        self.namespaces = frozenset(namespaces)  # where clusters are acted on
        self._clock = clock
        self._report = Reporter(kube, wall)
        self._actions = Actions(self._report, clock, wall)
        self._endpoints = Endpoints(kube, self._report)
        self._trackers: dict[str, FailureTracker] = {}
        self._credentials: dict[str, tuple[float, Credentials]] = {}

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

    async def tick(self, ref: ObjectRef) -> float:
        """Probe, decide, act, write the status; seconds until the next tick."""
        obj = await self.kube.get_cluster(ref.namespace, ref.name)
        if obj is None:
            return 5.0
        config = cluster_config(obj.get("spec") or {})
        tick = Tick(
            ref,
            config,
            dict(obj.get("status") or {}),
            int(obj["metadata"].get("generation", 0)),
            str(obj["metadata"]["resourceVersion"]),
            {},
        )
        if ref.namespace not in self.namespaces:
            allowed = ", ".join(sorted(self.namespaces))
            await self._report.refused(
                tick,
                "NamespaceNotAllowed",
                f"the operator acts on PostgresClusters only in {allowed}"
                " (SHORTLINK_OPERATOR_POSTGRES_NAMESPACES; the chart's "
                "operator.postgresNamespaces): nothing is read or probed for this one",
            )
            return _REFUSED_INTERVAL
        try:
            control = ClusterControl(await self._secret(tick), config.cluster.probe_timeout)
        except KubeUnavailable as exc:
            await self._report.refused(tick, exc.reason, exc.message)
            return max(5.0, config.cluster.probe_interval)
        except ClusterControlError as exc:
            await self._report.refused(tick, "InvalidSecret", f"'{CA_KEY}': {exc}")
            return max(5.0, config.cluster.probe_interval)
        probed_at = self._clock()
        tick.probes = await probe_all(control, config.cluster.members)
        memory = remembered(tick.status)
        tracker = self._trackers.setdefault(ref.key, FailureTracker(config.cluster.failover_delay))
        tracker.delay = config.cluster.failover_delay
        was_failing = tracker.since is not None
        decision = decide(
            config.cluster, tick.probes, memory, tracker, self._clock(), probed_at=probed_at
        )
        if tracker.since is not None and not was_failing:
            await self._report.event(
                tick,
                "Warning",
                "PrimaryFailing",
                decision.problems[0][1] if decision.problems else "",
            )

        if decision.problems and decision.problems[0][0] == "PrimaryRestarted":
            await self._report.event(tick, "Warning", "PrimaryRestarted", decision.problems[0][1])
        actions = self._actions
        fenced = await actions.fence(tick, control, decision.fence, cut_replication=True)
        acted = False
        if decision.step == "failover":
            acted = await actions.failover(tick, control, memory, tracker, fenced)
        elif decision.step == "promote" and decision.target is not None:
            assert memory.intent is not None
            acted = await actions.promote(tick, control, memory.intent, fenced)
        elif decision.step == "switchover" and decision.target is not None:
            acted = await actions.switchover(tick, control, decision, fenced)
        if acted:
            return 0.0  # observe the result at once
        if decision.blocked is not None:
            await self._report.blocked(tick, decision.blocked)
        await actions.repoint(tick, control, decision)
        await actions.set_synchronous(tick, control, decision)
        refused = await self._endpoints.publish(tick, decision)
        await self._report.write_status(tick, decision, fenced, refused)
        return config.cluster.probe_interval

    async def _secret(self, tick: Tick) -> Credentials:
        key = f"{tick.ref.namespace}/{tick.config.secret.name}"
        cached = self._credentials.get(key)
        if cached is not None and self._clock() - cached[0] < _CREDENTIALS_TTL:
            return replace(cached[1], database=tick.config.database)
        keys = tick.config.secret
        names = [
            keys.superuser,
            keys.superuser_password,
            keys.replication_user,
            keys.replication_password,
            CA_KEY,
        ]
        values = await self.kube.secret_values(
            tick.ref.namespace,
            keys.name,
            names,
            opt_in=CREDENTIALS_SECRET_LABEL,
            optional=[CA_KEY],
        )
        credentials = Credentials(
            values[keys.superuser],
            values[keys.superuser_password],
            values[keys.replication_user],
            values[keys.replication_password],
            tick.config.database,
            values.get(CA_KEY),
        )
        self._credentials[key] = (self._clock(), credentials)
        return credentials
