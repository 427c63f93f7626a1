"""The in-chart PostgreSQL (`postgresql.enabled`, a primary and two standbys) as pods on
the node: the image built here (scripts/build-postgres-image: Debian's PostgreSQL 15 to
the official postgres image's entrypoint contract) runs the chart's start script under the
kubelet, on `local` PersistentVolumes the test makes (the node has no provisioner:
tests/harness/cluster/storage.py); the standbys clone the primary and stream from it;
the api and operator pods migrate it in their init containers; the operator's
PostgresCluster goes Ready; a link created through the api Service redirects through the
redirector Service. Redis is on the host; Kafka is left out (click events off)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness import RedisServer
from tests.harness.cluster import Cluster, images, network
from tests.harness.cluster.helm import CHART, helm, project_image_tag
from tests.harness.cluster.storage import local_volumes
from tests.harness.cluster.workloads import describe_pods, pod_exec, ready_pods, wait_for
from tests.harness.kube.binaries import REPO_ROOT

NAMESPACE = "in-chart-pg"
RELEASE = "pg"
API_KEY = "sl_in_chart_pg_key_0123456789"
SECRET = "in-chart-pg-secret-0123456789-0123456789"
INSTANCES = 3
MEMBERS = [f"{RELEASE}-shortlink-postgresql-{number}" for number in range(INSTANCES)]
INSTALL_TIMEOUT = "420s"
PSQL = ["psql", "-X", "-A", "-t", "-U", "postgres", "-d", "shortlink", "-c"]


@pytest.fixture(scope="module")
def host_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Redis on the host, reached by the pods at the bridge's host address."""
    with RedisServer(
        tmp_path_factory.mktemp("redis") / "redis", bind=("127.0.0.1", network.BRIDGE_IP)
    ) as redis:
        yield f"redis://{network.BRIDGE_IP}:{redis.port}/0"


@pytest.fixture(scope="module")
def postgres_image(cluster: Cluster) -> str:
    """scripts/build-postgres-image's layout imported into the node's containerd."""
    started = time.monotonic()
    layout = images.postgres_layout()
    built = time.monotonic()
    [reference] = images.import_layout(cluster.ctr, layout, images.POSTGRES_NAME)
    print(
        f"postgres image: build/check {built - started:.1f}s,"
        f" import {time.monotonic() - built:.1f}s ({reference})"
    )
    return reference


def _crds_present(api: client.ApiClient) -> bool:
    try:
        client.ApiextensionsV1Api(api).read_custom_resource_definition(
            "postgresclusters.shortlink.io"
        )
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Iterator[None]:
    """The CRDs installed apart from the release, as a first `helm install` with
    postgresql.enabled needs (helm maps every object before it creates any, so the
    PostgresCluster can't come in the release that brings its CRD; charts/shortlink/
    README.md). Those another release of this session kept are used as they are; those
    applied here are removed afterwards."""
    with cluster.api_client() as api:
        present = _crds_present(api)
    names = [] if present else cluster.kube.apply_crds(REPO_ROOT / "crds")
    yield
    with cluster.api_client() as api:
        for name in names:
            client.ApiextensionsV1Api(api).delete_custom_resource_definition(name)


def chart_values(redis_url: str, postgres_image: str, storage_class: str) -> Any:
    registry, rest = postgres_image.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    return {
        "image": {"tag": project_image_tag(), "pullPolicy": "Never"},
        "config": {"baseUrl": "http://sho.rt.test", "rateLimit": "1000/minute"},
        "redis": {"url": redis_url},
        "secretKey": {"value": SECRET},
        "initialApiKey": {"value": API_KEY},
        "api": {"replicas": 1},
        "redirector": {"replicas": 1},
        "operator": {"replicas": 1},
        "crds": {"enabled": False},  # see the crds fixture
        "postgresql": {
            "enabled": True,
            "instances": INSTANCES,
            "image": {"registry": registry, "repository": repository, "tag": tag},
            "persistence": {"storageClassName": storage_class, "size": "1Gi"},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
        },
    }


@pytest.fixture(scope="module")
def release(
    cluster: Cluster,
    host_redis: str,
    postgres_image: str,
    crds: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """`helm install --wait` with postgresql.enabled; the Services' addresses."""
    values_file = tmp_path_factory.mktemp("values") / "values.json"
    with cluster.api_client() as api, local_volumes(api, INSTANCES, "1Gi") as storage_class:
        values = chart_values(host_redis, postgres_image, storage_class)
        values_file.write_text(json.dumps(values))
        started = time.monotonic()
        try:
            helm(
                cluster, "install", RELEASE, str(CHART), "--namespace", NAMESPACE,
                "--create-namespace", "--values", str(values_file), "--wait",
                "--timeout", INSTALL_TIMEOUT, timeout=600,
            )  # fmt: skip
            print(f"helm install --wait with postgresql.enabled: {time.monotonic() - started:.0f}s")
            services = {
                service.metadata.name: f"http://{service.spec.cluster_ip}:{service.spec.ports[0].port}"
                for service in client.CoreV1Api(api).list_namespaced_service(NAMESPACE).items
                if service.spec.cluster_ip not in (None, "None")
            }
            yield services
        except AssertionError as error:
            raise AssertionError(f"{error}\n{describe_pods(api, NAMESPACE)}") from None
        finally:
            _delete_postgres_cluster(api)
            helm(cluster, "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait",
                 "--timeout", "180s", "--ignore-not-found")  # fmt: skip
            _wait_pods_gone(api)


def _delete_postgres_cluster(api: client.ApiClient) -> None:
    """Delete the PostgresCluster while the operator still runs: its HA loop (a kopf
    daemon) holds a finalizer on it, which `helm uninstall` alone leaves stuck, the
    operator's Deployment going in the same breath (seen here: uninstall --wait hung)."""
    objects = client.CustomObjectsApi(api)
    where = ("shortlink.io", "v1alpha1", NAMESPACE, "postgresclusters")
    name = f"{RELEASE}-shortlink-postgresql"
    try:
        objects.delete_namespaced_custom_object(*where, name)
    except ApiException as error:
        if error.status == 404:
            return
        raise
    wait_for(
        lambda: not objects.list_namespaced_custom_object(*where)["items"],
        timeout=60,
        what=f"PostgresCluster {name} to go",
    )


def _wait_pods_gone(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    wait_for(
        lambda: not core.list_namespaced_pod(NAMESPACE).items,
        timeout=120,
        what=f"the pods of {NAMESPACE} to go",
    )


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
            [status] = pod.status.container_statuses
            assert status.image == postgres_image, status
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


def test_the_standbys_cloned_the_primary_and_stream_from_it(
    cluster: Cluster, release: dict[str, str]
) -> None:
    primary, *standbys = MEMBERS
    with cluster.api_client() as api:

        def streaming() -> list[str] | None:
            rows = pod_exec(
                api, NAMESPACE, primary,
                [*PSQL, "SELECT application_name FROM pg_stat_replication"
                        " WHERE state = 'streaming' ORDER BY 1"],
            ).split()  # fmt: skip
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
    name = f"{RELEASE}-shortlink-postgresql"
    with cluster.api_client() as api:
        objects = client.CustomObjectsApi(api)

        def ready() -> dict[str, Any] | None:
            found: dict[str, Any] = objects.get_namespaced_custom_object(
                "shortlink.io", "v1alpha1", NAMESPACE, "postgresclusters", name
            )
            status = found.get("status") or {}
            conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
            return found if conditions.get("Ready") == "True" else None

        found = wait_for(ready, timeout=120, what=f"PostgresCluster {name} Ready")
    status = found["status"]
    assert status["currentPrimary"] == MEMBERS[0], status
    assert status["phase"] == "Healthy", status


def test_a_link_created_through_the_api_service_redirects_through_the_redirector_service(
    release: dict[str, str],
) -> None:
    created = httpx.post(
        f"{release[f'{RELEASE}-shortlink-api']}/v1/urls",
        json={"original_url": "https://example.com/in-chart-postgresql"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    code = created.json()["short_url"].rsplit("/", 1)[1]
    response = httpx.get(f"{release[f'{RELEASE}-shortlink-redirector']}/{code}", timeout=10)
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/in-chart-postgresql"
