"""Operator settings from the environment (database, Redis and base URL come from
``shortlink.config.Settings``, shared with the other components).

| variable | default | meaning |
|---|---|---|
| SHORTLINK_OPERATOR_NAMESPACES | (all) | comma-separated namespaces to watch; empty: all |
| SHORTLINK_OPERATOR_PORT | 8083 | /healthz, /readyz and /metrics (0: off) |
| SHORTLINK_OPERATOR_DRIFT_INTERVAL | 30 | seconds between drift checks (0: off) |
| SHORTLINK_OPERATOR_LEADER_ELECTION | true | hold a Lease so one replica is active |
| SHORTLINK_OPERATOR_LEASE_NAME | shortlink-operator | the Lease's name |
| SHORTLINK_OPERATOR_LEASE_NAMESPACE | $POD_NAMESPACE or default | the Lease's namespace |
| SHORTLINK_OPERATOR_LEASE_SECONDS | 15 | a leader silent this long is replaced |
| SHORTLINK_OPERATOR_IDENTITY | $POD_NAME or host-pid | this replica's name in the Lease |
| SHORTLINK_OPERATOR_WORKERS | 1000 | resources reconciled concurrently |
| SHORTLINK_OPERATOR_RETRY_MAX | 60 | longest backoff, seconds, after transient failures |
| SHORTLINK_OPERATOR_POSTGRES_FAILOVER | true | run the PostgresCluster HA loop (false: off) |
| SHORTLINK_OPERATOR_POSTGRES_NAMESPACES | (watched, else own) | PostgresClusters acted on there |
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace

from shortlink.config import ConfigError, env_bool, env_float, env_int, env_list, env_port


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    port: int = 8083
    drift_interval: float = 30.0
    leader_election: bool = True
    lease_name: str = "shortlink-operator"
    lease_namespace: str = "default"
    lease_seconds: float = 15.0
    identity: str = "shortlink-operator"
    # kopf's watcher stops reading the stream while every worker slot is taken, and a
    # slot stays taken for the idle timeout (up to the consistency timeout after a
    # patch): 200 capped a burst near 100 ShortLinks/s (operator_sync, 2026-12-02).
    workers: int = 1000
    retry_max: float = 60.0
    postgres_failover: bool = True
    # Empty: the watched namespaces, else home_namespace (see postgres_allowed).
    postgres_namespaces: tuple[str, ...] = ()
    home_namespace: str = "default"  # the operator's own ($POD_NAMESPACE)

    @property
    def all_namespaces(self) -> bool:
        return not self.namespaces

    @property
    def postgres_allowed(self) -> tuple[str, ...]:
        """The namespaces whose PostgresClusters the HA loop acts on. A PostgresCluster
        makes the operator read its Secret and connect, as a superuser, to hosts it
        names, and rewrite Services: not something every namespace of a cluster-wide
        operator should be able to ask for."""
        return self.postgres_namespaces or self.namespaces or (self.home_namespace,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            namespaces=env_list(env, "SHORTLINK_OPERATOR_NAMESPACES"),
            port=env_port(env, "SHORTLINK_OPERATOR_PORT", d.port, minimum=0),
            drift_interval=env_float(env, "SHORTLINK_OPERATOR_DRIFT_INTERVAL", d.drift_interval),
            leader_election=env_bool(env, "SHORTLINK_OPERATOR_LEADER_ELECTION", d.leader_election),
            lease_name=env.get("SHORTLINK_OPERATOR_LEASE_NAME") or d.lease_name,
            lease_namespace=(
                env.get("SHORTLINK_OPERATOR_LEASE_NAMESPACE")
                or env.get("POD_NAMESPACE")
                or "default"
            ),
            lease_seconds=env_float(env, "SHORTLINK_OPERATOR_LEASE_SECONDS", d.lease_seconds, 3),
            identity=(
                env.get("SHORTLINK_OPERATOR_IDENTITY")
                or env.get("POD_NAME")
                or f"{socket.gethostname()}-{os.getpid()}"
            ),
            workers=env_int(env, "SHORTLINK_OPERATOR_WORKERS", d.workers, 1),
            retry_max=env_float(env, "SHORTLINK_OPERATOR_RETRY_MAX", d.retry_max, 1),
            postgres_failover=env_bool(
                env, "SHORTLINK_OPERATOR_POSTGRES_FAILOVER", d.postgres_failover
            ),
            postgres_namespaces=env_list(env, "SHORTLINK_OPERATOR_POSTGRES_NAMESPACES"),
            home_namespace=env.get("POD_NAMESPACE") or d.home_namespace,
        )

    def with_namespaces(self, namespaces: list[str], all_namespaces: bool) -> OperatorSettings:
        """Command-line flags win over SHORTLINK_OPERATOR_NAMESPACES."""
        if all_namespaces and namespaces:
            raise ConfigError("--namespace and --all-namespaces exclude each other")
        if all_namespaces:
            return replace(self, namespaces=())
        if namespaces:
            return replace(self, namespaces=tuple(namespaces))
        return self
