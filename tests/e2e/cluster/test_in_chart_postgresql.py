"""The in-chart PostgreSQL (`postgresql.enabled`, a primary and two standbys) as pods on
the node: the image built here (scripts/build-postgres-image: Debian's PostgreSQL 15 to
the official postgres image's entrypoint contract) runs the chart's start script under the
kubelet, on `local` PersistentVolumes the test makes (the node has no provisioner:
tests/harness/cluster/storage.py); the standbys clone the primary and stream from it;
the api and operator pods migrate it in their init containers; the operator's
PostgresCluster goes Ready; a link created through the api Service redirects through the
redirector Service. Redis is on the host; Kafka is left out (click events off).

Last, failover on the cluster (issue 18, proof 3) under creates through the api Service
and warm redirects through the redirector Service: the primary's container killed -9
through the runtime, then the primary's pod deleted. Each time a standby is promoted
(a restarted primary is a failed one: operator/README.md), and the old primary comes
back as a streaming standby of the new one by itself: the chart's start script rewinds
it (pg_rewind) when it finds another member taking writes, and its liveness check
restarts it once it is fenced."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from kubernetes import client

from tests.harness import RedisServer
from tests.harness.cluster import Cluster, network
from tests.harness.cluster.in_chart_postgres import (
    API_KEY,
    PSQL,
    RTO_TARGET,
    Failover,
    Release,
    chart_values,
    crds_applied,
    delete_pod,
    import_postgres_image,
    installed,
    kill_container,
    member_logs,
    operator_events,
    read_write_service_reaches,
    status,
    stored,
    streaming_standbys,
    under_load,
    writable,
)
from tests.harness.cluster.workloads import pod_exec, ready_pods, wait_for
from tests.harness.create_load import outcome
from tests.harness.kube.binaries import REPO_ROOT
from tests.support.links import new_link_at

RELEASE = Release("in-chart-pg")
NAMESPACE = RELEASE.namespace
MEMBERS = RELEASE.members


@pytest.fixture(scope="module")
def host_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Redis on the host, reached by the pods at the bridge's host address."""
    with RedisServer(
        tmp_path_factory.mktemp("redis") / "redis", bind=("127.0.0.1", network.BRIDGE_IP)
    ) as redis:
        yield f"redis://{network.BRIDGE_IP}:{redis.port}/0"


@pytest.fixture(scope="module")
def postgres_image(cluster: Cluster) -> str:
    return import_postgres_image(cluster)


@pytest.fixture(scope="module")
def release(
    cluster: Cluster,
    host_redis: str,
    postgres_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """`helm install --wait` with postgresql.enabled; the Services' addresses."""
    values_file = tmp_path_factory.mktemp("values") / "values.json"
    with (
        crds_applied(cluster),
        installed(
            cluster,
            RELEASE,
            values_file,
            lambda storage_class: chart_values(host_redis, postgres_image, storage_class),
        ) as services,
    ):
        yield services


def _members(api: client.ApiClient) -> list[Any]:
    selector = "app.kubernetes.io/component=postgresql"
    pods = client.CoreV1Api(api).list_namespaced_pod(NAMESPACE, label_selector=selector).items
    return sorted(pods, key=lambda pod: pod.metadata.name)


def test_every_member_runs_the_built_image_and_the_start_script(
    cluster: Cluster, release: dict[str, str], postgres_image: str
) -> None:
    with cluster.api_client() as api:
        members = _members(api)
        ready = {pod.metadata.name for pod in ready_pods(api, NAMESPACE)}
        assert [pod.metadata.name for pod in members] == MEMBERS
        assert set(MEMBERS) <= ready
        for pod in members:
            [container] = pod.status.container_statuses
            assert container.image == postgres_image, container
            # PID 1 is the server the start script exec'd through the entrypoint, as the
            # image's (and the chart's) uid 999, on the volume's data directory.
            command = pod_exec(api, NAMESPACE, pod.metadata.name, ["cat", "/proc/1/cmdline"])
            assert command.split("\0")[:3] == ["postgres", "-c", "wal_level=replica"], command
            ids = pod_exec(api, NAMESPACE, pod.metadata.name, ["id", "-u"]).strip()
            assert ids == "999"
            owner = pod_exec(
                api, NAMESPACE, pod.metadata.name,
                ["stat", "-c", "%u %a", "/var/lib/postgresql/data/pgdata"],
            ).strip()  # fmt: skip
            uid, mode = owner.split()
            # 0700 (the setgid bit comes from the volume's fsGroup directory; PostgreSQL
            # checks only the permission bits).
            assert (uid, int(mode, 8) & 0o777) == ("999", 0o700), owner
            # What the operator needs of its members (operator/README.md): without the
            # retry interval a repointed standby may wait 5 s to reconnect, and the new
            # primary's writes with it.
            settings = pod_exec(
                api, NAMESPACE, pod.metadata.name,
                [*PSQL, "SELECT string_agg(name || '=' || setting || unit, ',' ORDER BY name)"
                        " FROM pg_settings WHERE name IN ('wal_retrieve_retry_interval',"
                        " 'wal_receiver_timeout', 'wal_sender_timeout')"],
            ).strip()  # fmt: skip
            assert settings == (
                "wal_receiver_timeout=5000ms,wal_retrieve_retry_interval=500ms,"
                "wal_sender_timeout=5000ms"
            ), settings


def test_the_standbys_cloned_the_primary_and_stream_from_it(
    cluster: Cluster, release: dict[str, str]
) -> None:
    primary, *standbys = MEMBERS
    with cluster.api_client() as api:

        def streaming() -> list[str] | None:
            rows = streaming_standbys(api, RELEASE, primary)
            return rows if rows == standbys else None

        wait_for(streaming, timeout=60, what="both standbys streaming from the primary")
        for standby in standbys:
            recovery = pod_exec(api, NAMESPACE, standby, [*PSQL, "SELECT pg_is_in_recovery()"])
            assert recovery.strip() == "t"
            # The physical slot named after the member (the PostgresCluster's convention).
            slot = standby.replace("-", "_")
            active = pod_exec(
                api, NAMESPACE, primary,
                [*PSQL, f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'"],
            )  # fmt: skip
            assert active.strip() == "t", (slot, active)


def test_migrations_ran_in_the_init_containers(cluster: Cluster, release: dict[str, str]) -> None:
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        for component in ("api", "operator"):
            [pod] = core.list_namespaced_pod(
                NAMESPACE, label_selector=f"app.kubernetes.io/component={component}"
            ).items
            [migrate] = pod.status.init_container_statuses
            assert migrate.name == "migrate"
            assert migrate.state.terminated.exit_code == 0, migrate
        applied = pod_exec(
            api, NAMESPACE, MEMBERS[0], [*PSQL, "SELECT count(*) FROM schema_migrations"]
        )
    shipped = len(list((REPO_ROOT / "core" / "shortlink" / "migrations").glob("[0-9]*.sql")))
    assert int(applied) == shipped > 0


def test_the_postgres_cluster_goes_ready(cluster: Cluster, release: dict[str, str]) -> None:
    with cluster.api_client() as api:

        def ready() -> dict[str, Any] | None:
            found = status(api, RELEASE)
            return found if writable(found) else None

        found = wait_for(ready, timeout=120, what=f"PostgresCluster {RELEASE.postgres} Ready")
    assert found["currentPrimary"] == MEMBERS[0], found
    assert found["phase"] == "Healthy", found


def test_a_link_created_through_the_api_service_redirects_through_the_redirector_service(
    release: dict[str, str],
) -> None:
    target = "https://example.com/in-chart-postgresql"
    code = new_link_at(RELEASE.service(release, "api"), target, API_KEY)
    response = httpx.get(f"{RELEASE.service(release, 'redirector')}/{code}", timeout=10)
    assert response.status_code == 302
    assert response.headers["location"] == target


# --- Failover on the cluster (issue 18, proof 3): last in the module, they move the primary.


# An old primary back as a standby: the kubelet's restart (after its liveness check saw
# it fenced: up to 3 x 5 s, then the restart back-off, 10 s for a second restart) and
# pg_rewind, or the deleted pod's replacement scheduled and rewound.
REJOIN_TIMEOUT = 90


def _timeline(api: client.ApiClient, failover: Failover) -> str:
    """Where the seconds went, relative to the event: the operator's detection and
    promotion (status.lastFailover), and the clients' outage (the longest gap without
    an acknowledged create)."""
    last = status(api, RELEASE).get("lastFailover") or {}

    def at(stamp: str | None) -> str:
        if not stamp:
            return "?"
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        return f"{moment - failover.event_at:+.2f}s"

    window = failover.outage
    outage = (
        f"{window[0] - failover.event_at:+.2f}s..{window[1] - failover.event_at:+.2f}s"
        if window
        else "?"
    )
    events = ", ".join(operator_events(api, RELEASE, failover.event_at))
    return (
        f"detected {at(last.get('detectedAt'))}, promoted {at(last.get('promotedAt'))}"
        f" ({last.get('seconds')}s after detection), no acknowledged create {outage};"
        f" operator events: {events}"
    )


def _check(cluster: Cluster, failover: Failover, prefix: str, what: str) -> None:
    """A standby promoted; every acknowledged create stored once on the new primary,
    every warm redirect answered, the read-write Service on it through kube-proxy; the
    old primary a streaming standby of the new one, by itself; the RTO against
    failoverDelay + 3 s."""
    with cluster.api_client() as api:
        found = stored(api, RELEASE, failover.new, prefix)
        wait_for(
            lambda: read_write_service_reaches(api, RELEASE, failover.new),
            timeout=10,
            what=f"the read-write Service to reach {failover.new} through kube-proxy",
        )
        timeline = _timeline(api, failover)
        started = time.monotonic()
        wait_for(
            lambda: failover.old in streaming_standbys(api, RELEASE, failover.new),
            timeout=REJOIN_TIMEOUT,
            what=f"{failover.old} streaming from {failover.new}",
        )
        rejoined = time.monotonic() - started + (time.time() - failover.recovered_at)
        # A late recovery says why: the operator's events in full, each member's log.
        evidence = (
            "\n".join(operator_events(api, RELEASE, failover.event_at, details=True))
            + "\n"
            + member_logs(api, RELEASE, failover.event_at)
            if failover.rto > RTO_TARGET
            else ""
        )
        members = {
            m["name"].rsplit("-", 1)[1]: f"{m.get('role')}"
            f"{'' if m.get('reachable') else ' unreachable'}"
            for m in status(api, RELEASE).get("members") or []
        }
    result = outcome(failover.answers, found)
    print(
        f"{what}: primary {failover.old} -> {failover.new}, RTO {failover.rto:.1f}s ({timeline}),"
        f" creates {dict(result.statuses)}, {len(result.acknowledged)} acknowledged, lost"
        f" {len(result.lost)}, doubled {result.duplicate_rows}; warm redirects"
        f" {failover.redirects.total}, failed {len(failover.redirects.failures)}; old primary"
        f" streaming from the new one {rejoined:.0f}s after recovery; members after: {members}"
    )
    assert failover.new != failover.old
    assert result.acknowledged
    assert result.lost == {}, _lost_details(failover, result.lost, found)
    assert result.duplicate_rows == 0
    assert failover.redirects.failures == []
    assert failover.redirects.total > 0
    assert failover.rto <= RTO_TARGET, f"RTO {failover.rto:.1f}s > failoverDelay + 3 s\n{evidence}"


def _lost_details(failover: Failover, lost: dict[str, str], found: list[Any]) -> str:
    """When each lost create was sent and answered, and what the new primary holds for
    its target, relative to the event (seconds): where to look for the cause."""
    answers = {a.target: a for a in failover.answers if a.target in lost}
    rows = {row.target: row for row in found if row.target in lost}
    lines = []
    for target, code in lost.items():
        answer, row = answers[target], rows.get(target)
        held = f"{row.code} created {row.created_at - failover.event_at:+.2f}s" if row else "no row"
        lines.append(
            f"{target} -> {code}: sent {answer.sent_at - failover.event_at:+.2f}s, answered"
            f" {answer.answered_at - failover.event_at:+.2f}s; {failover.new} holds {held}"
        )
    return "; ".join(lines)


def test_the_primarys_container_killed_9_through_the_runtime_under_load(
    cluster: Cluster, release: dict[str, str]
) -> None:
    """SIGKILL to the primary's container through containerd (ctr): the kubelet
    restarts it at once, mostly before failoverDelay ran out; the operator sees a new
    server (members[].startedAt) and promotes a standby all the same."""

    def kill(primary: str) -> None:
        kill_container(cluster, RELEASE, primary)

    prefix = "https://kill9.cluster.test/"
    failover = under_load(cluster, RELEASE, release, prefix, kill)
    _check(cluster, failover, prefix, "kill -9")


def test_a_standby_is_promoted_when_the_primarys_pod_is_deleted_under_load(
    cluster: Cluster, release: dict[str, str]
) -> None:
    """The primary's pod deleted and its replacement kept from starting for
    failoverDelay and more (the node cordoned, as when a node is lost): a standby is
    promoted and the read-write Service follows it; uncordoned, the replacement finds
    the new primary and starts as its standby."""

    def delete(primary: str) -> None:
        delete_pod(cluster, RELEASE, primary)

    prefix = "https://deleted.cluster.test/"
    with cluster.cordoned():
        failover = under_load(cluster, RELEASE, release, prefix, delete)
    _check(cluster, failover, prefix, "pod deleted")


def test_a_standby_is_promoted_when_the_primarys_pod_is_deleted_and_comes_straight_back(
    cluster: Cluster, release: dict[str, str]
) -> None:
    """The primary's pod deleted with the node schedulable: the StatefulSet's
    replacement starts at once with the old primary's data, maybe before the operator
    promoted anyone. A standby is promoted all the same (a restarted primary is a
    failed one), and the replacement finds it and becomes its standby."""

    def delete(primary: str) -> None:
        delete_pod(cluster, RELEASE, primary)

    prefix = "https://replaced.cluster.test/"
    failover = under_load(cluster, RELEASE, release, prefix, delete)
    _check(cluster, failover, prefix, "pod deleted, replaced at once")
