"""A PostgresCluster resource on the test control plane for a harness PostgresCluster,
and a writer that records which of its writes were acknowledged.

Plain Python (no pytest): the failover benchmark reuses it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness import ServiceProcess
from tests.harness.kube import KubeControlPlane
from tests.harness.pg_cluster import DATABASE, PostgresCluster
from tests.harness.postgres import SUPERUSER
from tests.harness.shortlinks import operator_process
from tests.support.waiting import wait_for

GROUP, VERSION, PLURAL = "shortlink.io", "v1alpha1", "postgresclusters"
SECRET = "pg-credentials"
CREDENTIALS_LABEL = "shortlink.io/postgres-credentials"
# Fast enough for tests: a failover within ~3 s of a crash.
FAST = {"failoverDelay": 2, "probeInterval": 0.25, "probeTimeout": 1}


class ClusterResource:
    """One PostgresCluster object (named ``name``) in ``namespace``."""

    def __init__(self, control_plane: KubeControlPlane, namespace: str, name: str = "pg") -> None:
        self.control_plane = control_plane
        self.namespace = namespace
        self.name = name
        self.api = control_plane.api_client()
        self.objects = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)
        self.discovery = client.DiscoveryV1Api(self.api)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def create(
        self, cluster: PostgresCluster, *, defaults: Mapping[str, Any] = FAST, **spec: Any
    ) -> dict[str, Any]:
        """The resource for ``cluster``: ``defaults`` (the fast probing tests use;
        ``{}`` for the CRD's own defaults) overridden by ``spec``."""
        secret: Any = {
            "metadata": {"name": SECRET, "labels": {CREDENTIALS_LABEL: "true"}},
            "stringData": {
                "superuser": SUPERUSER,
                "superuser-password": "",
                "replication-user": SUPERUSER,
                "replication-password": "",
            },
        }
        self.core.create_namespaced_secret(self.namespace, secret)
        members = [{"name": m.name, "host": m.host, "port": m.port} for m in cluster.members]
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "PostgresCluster",
            "metadata": {"name": self.name},
            "spec": {
                "members": members,
                "credentialsSecretRef": {"name": SECRET},
                "database": DATABASE,
                "readWriteService": f"{self.name}-rw",
                "readOnlyService": f"{self.name}-ro",
                **defaults,
                **spec,
            },
        }
        created = self.objects.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, body
        )
        return cast(dict[str, Any], created)

    def get(self) -> dict[str, Any]:
        found = self.objects.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, self.name
        )
        return cast(dict[str, Any], found)

    def status(self) -> dict[str, Any]:
        return dict(self.get().get("status") or {})

    def patch_spec(self, changes: Mapping[str, Any]) -> None:
        self.objects.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, self.name, {"spec": dict(changes)}
        )

    def member(self, name: str) -> dict[str, Any]:
        return next(m for m in self.status().get("members") or [] if m["name"] == name)

    def wait(self, what: str, check: Any, timeout: float = 30) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            status = self.status()
            return status if check(status) else None

        return wait_for(f"{self.name}: {what}", probe, timeout)

    def wait_phase(
        self, phase: str, primary: str | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        return self.wait(
            f"phase {phase}, primary {primary}",
            lambda s: s.get("phase") == phase and primary in (None, s.get("currentPrimary")),
            timeout,
        )

    def reasons(self) -> list[str]:
        """Event reasons on the resource, oldest first."""
        listed = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={self.name}"
        )
        items = sorted(
            (e for e in listed.items if e.involved_object.kind == "PostgresCluster"),
            key=lambda e: (e.last_timestamp or e.event_time or 0, e.metadata.name),
        )
        return [str(e.reason) for e in items]

    def endpoints(self, service: str) -> list[str]:
        """Hostnames (member names) in the EndpointSlice of ``service``."""
        try:
            found = self.discovery.read_namespaced_endpoint_slice(service, self.namespace)
        except ApiException as error:
            if error.status == 404:
                return []
            raise
        return sorted(str(e.hostname) for e in found.endpoints or [])


def cluster_operator(
    control_plane: KubeControlPlane,
    log_dir: Path,
    namespace: str,
    name: str,
    *,
    database_url: str,
    redis_url: str,
    **env: str,
) -> ServiceProcess:
    """`shortlink operator` watching ``namespace`` (its ShortLink side needs a database
    and Redis of its own: the session ones, not the cluster under test)."""
    return operator_process(
        control_plane,
        log_dir,
        database_url=database_url,
        redis_url=redis_url,
        base_url="http://127.0.0.1:9",
        namespace=namespace,
        name=name,
        SHORTLINK_OPERATOR_DRIFT_INTERVAL="0",
        **env,
    )


@dataclass
class Writes:
    acked: dict[int, float] = field(default_factory=dict)  # id -> monotonic ack time
    acked_wall: dict[int, float] = field(default_factory=dict)  # id -> time.time() at ack
    on: dict[int, str] = field(default_factory=dict)  # id -> member that acknowledged
    failed: int = 0


class Writer:
    """Inserts ids 1, 2, ... into ``ha_writes`` one at a time, each on the first member
    (in order) that is writable, reconnecting after any error: like an app with a
    multi-host DSN and target_session_attrs=read-write. Records every acknowledged id."""

    TABLE = (
        "CREATE TABLE IF NOT EXISTS ha_writes (id bigint PRIMARY KEY, at timestamptz DEFAULT now())"
    )

    def __init__(self, cluster: PostgresCluster, members: list[str] | None = None) -> None:
        self.targets = [
            (m.name, m.host, m.port)
            for m in cluster.members
            if members is None or m.name in members
        ]
        self.writes = Writes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._next = 1

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Writes:
        self._stop.set()
        self._thread.join(30)
        return self.writes

    def wait_acked(self, count: int, timeout: float = 30) -> None:
        wait_for(f"{count} acknowledged writes", lambda: len(self.writes.acked) >= count, timeout)

    async def _connect(self) -> tuple[str, asyncpg.Connection] | None:
        for name, host, port in self.targets:
            try:
                connection = await asyncpg.connect(
                    host=host, port=port, user=SUPERUSER, database=DATABASE, timeout=1
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                continue
            try:
                writable = await asyncio.wait_for(
                    connection.fetchval(
                        "SELECT NOT pg_is_in_recovery()"
                        " AND current_setting('transaction_read_only') = 'off'"
                    ),
                    1,
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                writable = False
            if writable:
                return name, connection
            connection.terminate()
        return None

    async def _run(self) -> None:
        current: tuple[str, asyncpg.Connection] | None = None
        while not self._stop.is_set():
            if current is None:
                current = await self._connect()
                if current is None:
                    self.writes.failed += 1
                    await asyncio.sleep(0.05)
                    continue
            name, connection = current
            ident = self._next
            try:
                await connection.execute("INSERT INTO ha_writes (id) VALUES ($1)", ident, timeout=5)
            except asyncpg.UniqueViolationError:
                self._next += 1  # an earlier attempt's commit did land: not ours to claim
                continue
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self.writes.failed += 1
                connection.terminate()
                current = None
                continue
            self.writes.acked[ident] = time.monotonic()
            self.writes.acked_wall[ident] = time.time()
            self.writes.on[ident] = name
            self._next += 1
        if current is not None:
            current[1].terminate()


def create_table(cluster: PostgresCluster) -> None:
    cluster.primary.execute(Writer.TABLE, database=DATABASE)


def rows_on(cluster: PostgresCluster, member: str) -> set[int]:
    text = cluster.member(member).execute("SELECT id FROM ha_writes", database=DATABASE)
    return {int(line) for line in text.split()}
