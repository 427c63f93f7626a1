"""What one tick of a PostgresCluster's HA loop read: the object, its config and
status, the probes; and how the tick stamps the times it records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shortlink.domain.failover import ClusterSpec, Member, Probe
from shortlink.operator.postgres.status import ClusterConfig
from shortlink.operator.resource import API_VERSION, CLUSTER_KIND, ObjectRef


def stamp(moment: datetime) -> str:
    """RFC 3339 to the millisecond: failover timings are in seconds, whole ones would
    round them by up to one."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Tick:
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
