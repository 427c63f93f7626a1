"""`helm upgrade` to a second build of the image, `helm rollback`, `helm uninstall` on the
node (issue 18, proof 4), the chart using PostgreSQL, Redis and Kafka on the host.

Under steady creates through the api Service and warm redirects through the redirector
Service (tests/harness/cluster/in_chart_postgres.py's traffic): every request answered
(no connection error, no 5xx), every acknowledged create stored once, every redirect's
click received by Kafka, the redirector never below its PodDisruptionBudget's
desiredHealthy while the pods roll, and the pods running the image they were rolled to
(its manifest as containerd reports it, and the layer only the second build has).
Then `helm uninstall` leaves the CRDs and the ShortLinks (`crds.keep`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness.cluster import Cluster, images
from tests.harness.cluster.helm import CHART, helm, project_image_tag
from tests.harness.cluster.host_services import clicks_in_kafka, host_services
from tests.harness.cluster.in_chart_postgres import (
    API_KEY,
    SECRET,
    STEADY_S,
    Release,
    installed,
    traffic,
    warm_links,
)
from tests.harness.cluster.workloads import pod_exec, wait_for
from tests.harness.create_load import StoredLink, outcome
from tests.harness.image import ensure_image
from tests.harness.processes import HarnessError
from tests.harness.shortlinks import GROUP, PLURAL, VERSION
from tests.harness.shortlinks import Cluster as ShortLinks

RELEASE = Release("shortlink-upgrade", "up")
NAMESPACE = RELEASE.namespace
CRDS = ("shortlinks.shortlink.io", "postgresclusters.shortlink.io")
REPLICAS = {"api": 2, "redirector": 2, "operator": 1}
ROLLED = tuple(REPLICAS)
LINKS_NAMESPACE = "upgrade-links"
ROLL_TIMEOUT = 240.0


@dataclass(frozen=True)
class Build:
    tag: str
    image: str  # the reference the pods name
    marker: str  # what NEXT_MARKER holds in it ("" for the first build: no such file)


@pytest.fixture(scope="module")
def builds(cluster: Cluster) -> tuple[Build, Build]:
    """The first build (imported by `up`) and the second, made from it and imported."""
    first = project_image_tag()
    layout = images.next_project_layout(ensure_image())
    [reference] = images.import_layout(cluster.ctr, layout, images.PROJECT_NAME)
    second = reference.rsplit(":", 1)[1]
    return (
        Build(first, f"{images.PROJECT_NAME}:{first}", ""),
        Build(second, reference, f"{second}\n"),
    )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with host_services(tmp_path_factory.mktemp("upgrade-host"), "chart_upgrade") as urls:
        yield urls


def chart_values(urls: dict[str, str], tag: str) -> dict[str, Any]:
    return {
        "image": {"tag": tag, "pullPolicy": "Never"},
        "config": {"baseUrl": "http://sho.rt.test", "rateLimit": "100000/minute"},
        "database": {"url": urls["database"]},
        "redis": {"url": urls["redis"]},
        "kafka": {"bootstrapServers": urls["kafka"]},
        "secretKey": {"value": SECRET},
        "initialApiKey": {"value": API_KEY},
        **{component: {"replicas": count} for component, count in REPLICAS.items()},
    }


@pytest.fixture(scope="module")
def crds_before(cluster: Cluster) -> Iterator[set[str]]:
    """The CRDs an earlier release kept (another module's `helm uninstall`) are adopted
    as charts/shortlink/README.md says, so this release owns them; those this module's
    release brought are removed at the end (their ShortLinks' finalizers first: no
    operator is left to clear them)."""
    with cluster.api_client() as api:
        extensions = client.ApiextensionsV1Api(api)
        present = {crd.metadata.name for crd in extensions.list_custom_resource_definition().items}
        kept = present & set(CRDS)
        for name in kept:
            extensions.patch_custom_resource_definition(name, _owned_by_release())
    yield kept
    with cluster.api_client() as api:
        objects = client.CustomObjectsApi(api)
        for link in objects.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]:
            if link["metadata"]["namespace"] == LINKS_NAMESPACE:
                objects.patch_namespaced_custom_object(
                    GROUP, VERSION, LINKS_NAMESPACE, PLURAL, link["metadata"]["name"],
                    {"metadata": {"finalizers": None}},
                )  # fmt: skip
        for name in set(CRDS) - kept:
            try:
                client.ApiextensionsV1Api(api).delete_custom_resource_definition(name)
            except ApiException as error:
                if error.status != 404:
                    raise


def _owned_by_release() -> dict[str, Any]:
    return {
        "metadata": {
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {
                "meta.helm.sh/release-name": RELEASE.name,
                "meta.helm.sh/release-namespace": NAMESPACE,
            },
        }
    }


@pytest.fixture(scope="module")
def release(
    cluster: Cluster,
    builds: tuple[Build, Build],
    services: dict[str, str],
    crds_before: set[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    values_file = tmp_path_factory.mktemp("values") / "values.json"
    with installed(
        cluster, RELEASE, values_file, lambda _: chart_values(services, builds[0].tag)
    ) as addresses:
        yield addresses


# --- Watching the roll ------------------------------------------------------------


def _serving(pod: Any) -> bool:
    """Ready and not being deleted: what a PodDisruptionBudget counts as healthy."""
    if pod.metadata.deletion_timestamp is not None:
        return False
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


@dataclass
class ReadyWatch:
    """Ready pods per component, sampled every POLL_S from a thread of its own; a
    sample that failed is kept (`error`), so a blind watch can't pass for a good roll."""

    cluster: Cluster
    fewest: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    error: Exception | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    POLL_S = 0.2

    def run(self) -> None:
        try:
            with self.cluster.api_client() as api:
                core = client.CoreV1Api(api)
                while not self._stop.is_set():
                    self._sample(core)
                    self._stop.wait(self.POLL_S)
        except Exception as error:  # any: reported by stop()
            self.error = error

    def _sample(self, core: client.CoreV1Api) -> None:
        counts = dict.fromkeys(ROLLED, 0)
        for pod in core.list_namespaced_pod(NAMESPACE).items:
            component = pod.metadata.labels.get("app.kubernetes.io/component")
            if component in counts and _serving(pod):
                counts[component] += 1
        for component, count in counts.items():
            self.fewest[component] = min(self.fewest.get(component, count), count)
        self.samples += 1

    def stop(self, thread: threading.Thread) -> None:
        self._stop.set()
        thread.join(timeout=10)
        if self.error is not None:
            raise AssertionError(f"the Ready watch failed: {self.error!r}") from self.error


def _pods(api: client.ApiClient) -> list[Any]:
    return [
        pod
        for pod in client.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items
        if pod.metadata.labels.get("app.kubernetes.io/component") in ROLLED
    ]


def _rolled_to(api: client.ApiClient, build: Build) -> bool:
    """Every pod of the release serving on `build`, none left of another."""
    pods = _pods(api)
    return len(pods) == sum(REPLICAS.values()) and all(
        _serving(pod) and pod.spec.containers[0].image == build.image for pod in pods
    )


def _desired_healthy(api: client.ApiClient) -> int:
    budget = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget(
        f"{RELEASE.name}-shortlink-redirector", NAMESPACE
    )
    return int(budget.status.desired_healthy)


@dataclass
class Roll:
    took: float  # from the helm command to every pod serving on the build, no old one left
    helm_took: float
    fewest_ready: dict[str, int]
    samples: int


async def _roll(cluster: Cluster, command: list[str], build: Build) -> Roll:
    watch = ReadyWatch(cluster)
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        await asyncio.to_thread(helm, cluster, *command, timeout=ROLL_TIMEOUT + 60)
        helm_took = time.monotonic() - started
        with cluster.api_client() as api:
            await asyncio.to_thread(
                wait_for, lambda: _rolled_to(api, build), timeout=ROLL_TIMEOUT,
                what=f"every pod on {build.image}, no other left",
            )  # fmt: skip
        took = time.monotonic() - started
        # The old pods' last requests are answered in their preStop and drain: keep
        # the load on a little longer.
        await asyncio.sleep(STEADY_S)
    finally:
        watch.stop(watcher)
    return Roll(took, helm_took, watch.fewest, watch.samples)


# --- What became of the traffic ---------------------------------------------------


@dataclass
class Clicks:
    """Redirects served on the warm links, all phases so far, and their codes."""

    codes: set[str] = field(default_factory=set)
    served: int = 0


def _stored(database: str, prefix: str) -> list[StoredLink]:
    async def rows() -> list[StoredLink]:
        connection = await asyncpg.connect(database)
        try:
            found = await connection.fetch(
                "SELECT target, code, extract(epoch FROM created_at) AS at FROM links"
                " WHERE target LIKE $1",
                f"{prefix}%",
            )
        finally:
            await connection.close()
        return [StoredLink(row["target"], row["code"], float(row["at"])) for row in found]

    return asyncio.run(rows())


def _under_load(
    cluster: Cluster,
    release: dict[str, str],
    services: dict[str, str],
    clicks: Clicks,
    command: list[str],
    build: Build,
    what: str,
) -> None:
    """`command` (helm) run under creates and warm redirects; every promise checked."""
    links = warm_links(RELEASE, release)
    clicks.codes |= set(links)
    clicks.served += len(links)  # warm_links followed each once
    prefix = f"https://{what}.upgrade.test/"
    with cluster.api_client() as api:
        desired_healthy = _desired_healthy(api)

        async def run() -> tuple[Roll, Any]:
            async with traffic(api, RELEASE, release, prefix, links) as running:
                await asyncio.sleep(STEADY_S)
                roll = await _roll(cluster, command, build)
            return roll, running

        roll, running = asyncio.run(run())
    result = outcome(running.answers, _stored(services["database_from_host"], prefix))
    redirects = running.warm
    clicks.served += redirects.total - len(redirects.failures)
    try:
        received = wait_for(
            lambda: (found := clicks_in_kafka(services["kafka_from_host"], clicks.codes)[0])
            >= clicks.served and found,
            timeout=30, what="every click in Kafka",
        )  # fmt: skip
    except HarnessError:
        received = clicks_in_kafka(services["kafka_from_host"], clicks.codes)[0]
    print(
        f"{what} to {build.image}: roll {roll.took:.1f}s (helm --wait {roll.helm_took:.1f}s);"
        f" creates {dict(result.statuses)}, lost {len(result.lost)}, doubled"
        f" {result.duplicate_rows}; warm redirects {redirects.total}, failed"
        f" {len(redirects.failures)} {redirects.failures[:5]}; clicks served {clicks.served},"
        f" in Kafka {received}; fewest Ready {roll.fewest_ready} over {roll.samples} samples"
        f" (redirector PDB desiredHealthy {desired_healthy})"
    )
    assert result.acknowledged
    assert set(result.statuses) == {201}, result.statuses
    assert result.lost == {}
    assert result.duplicate_rows == 0
    assert redirects.total > 0
    assert redirects.failures == []
    assert received == clicks.served
    assert roll.fewest_ready["redirector"] >= desired_healthy >= 1
    assert roll.fewest_ready["api"] >= 1  # one replica could be replaced, never both
    with cluster.api_client() as api:
        for pod in _pods(api):
            [status] = pod.status.container_statuses
            # The kubelet's report of what containerd started, and the layer inside it.
            assert status.image == build.image, (pod.metadata.name, status.image)
            marker = pod_exec(
                api, NAMESPACE, pod.metadata.name,
                ["python3", "-c", _READ_MARKER], pod.spec.containers[0].name,
            )  # fmt: skip
            assert marker == build.marker, (pod.metadata.name, marker)


_READ_MARKER = (
    "import pathlib, sys;"
    f"p = pathlib.Path({images.NEXT_MARKER!r});"
    "sys.stdout.write(p.read_text() if p.exists() else '')"
)


@pytest.fixture(scope="module")
def clicks() -> Clicks:
    return Clicks()


def test_helm_upgrade_to_a_second_build_under_load_answers_everything(
    cluster: Cluster,
    release: dict[str, str],
    services: dict[str, str],
    builds: tuple[Build, Build],
    clicks: Clicks,
) -> None:
    first, second = builds
    assert second.image != first.image
    command = [
        "upgrade", RELEASE.name, str(CHART), "--namespace", NAMESPACE, "--reuse-values",
        "--set", f"image.tag={second.tag}", "--wait", "--timeout", f"{ROLL_TIMEOUT:.0f}s",
    ]  # fmt: skip
    _under_load(cluster, release, services, clicks, command, second, "upgrade")


def test_helm_rollback_under_load_answers_everything(
    cluster: Cluster,
    release: dict[str, str],
    services: dict[str, str],
    builds: tuple[Build, Build],
    clicks: Clicks,
) -> None:
    command = [
        "rollback", RELEASE.name, "1", "--namespace", NAMESPACE, "--wait",
        "--timeout", f"{ROLL_TIMEOUT:.0f}s",
    ]  # fmt: skip
    _under_load(cluster, release, services, clicks, command, builds[0], "rollback")


def test_helm_uninstall_keeps_the_crds_and_the_shortlinks(
    cluster: Cluster, release: dict[str, str], crds_before: set[str]
) -> None:
    links = ShortLinks(cluster.kube, LINKS_NAMESPACE)
    try:
        cluster.kube.create_namespace(LINKS_NAMESPACE)
        links.create("kept", {"code": "kept-on-uninstall", "target": "https://example.com/kept"})
        links.wait_ready("kept")
        helm(cluster, "uninstall", RELEASE.name, "--namespace", NAMESPACE, "--wait",
             "--timeout", "120s")  # fmt: skip
        with cluster.api_client() as api:
            # `--wait` waits for the Deployments to go; their pods stop after (preStop, drain).
            wait_for(lambda: not _pods(api), timeout=120, what="the release's pods to go")
            extensions = client.ApiextensionsV1Api(api)
            for name in CRDS:
                crd = extensions.read_custom_resource_definition(name)
                assert crd.metadata.deletion_timestamp is None, name
        kept = links.get("kept")
        assert kept is not None
        assert kept["spec"]["code"] == "kept-on-uninstall"
        assert kept["metadata"].get("deletionTimestamp") is None
    finally:
        links.close()
