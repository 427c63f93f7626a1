"""`helm upgrade` to a second build of the project image and `helm rollback` on the node,
the chart using PostgreSQL, Redis and Kafka on the host (issue 18, proof 4): the builds,
the values, the CRDs a kept release left, and the roll watched (the fewest Ready pods
per component while it ran, against the redirector's PodDisruptionBudget).

Shared by the e2e test (tests/e2e/cluster/test_chart_upgrade.py) and the
`cluster_upgrade` benchmark: plain Python, no pytest. The traffic is
in_chart_postgres.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness.cluster import images
from tests.harness.cluster.helm import CHART, helm, project_image_tag
from tests.harness.cluster.host_services import chart_on_host_services, clicks_in_kafka
from tests.harness.cluster.in_chart_postgres import API_KEY, SECRET, STEADY_S, Release
from tests.harness.cluster.node import Cluster
from tests.harness.cluster.workloads import wait_for
from tests.harness.create_load import StoredLink
from tests.harness.image import ensure_image
from tests.harness.processes import HarnessError
from tests.harness.shortlinks import GROUP, PLURAL, VERSION

CRDS = ("shortlinks.shortlink.io", "postgresclusters.shortlink.io")
REPLICAS = {"api": 2, "redirector": 2, "operator": 1}
ROLLED = tuple(REPLICAS)
ROLL_TIMEOUT = 240.0


@dataclass(frozen=True)
class Build:
    tag: str
    image: str  # the reference the pods name
    marker: str  # what NEXT_MARKER holds in it ("" for the first build: no such file)


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


def chart_values(urls: dict[str, str], tag: str) -> dict[str, Any]:
    """The chart on host_services' `urls`, REPLICAS of each component, the image `tag`."""
    return {
        **chart_on_host_services(urls, tag, SECRET, API_KEY, "100000/minute"),
        **{component: {"replicas": count} for component, count in REPLICAS.items()},
    }


def upgrade_command(release: Release, build: Build) -> list[str]:
    return [
        "upgrade", release.name, str(CHART), "--namespace", release.namespace, "--reuse-values",
        "--set", f"image.tag={build.tag}", "--wait", "--timeout", f"{ROLL_TIMEOUT:.0f}s",
    ]  # fmt: skip


def rollback_command(release: Release, revision: int = 1) -> list[str]:
    return [
        "rollback", release.name, str(revision), "--namespace", release.namespace, "--wait",
        "--timeout", f"{ROLL_TIMEOUT:.0f}s",
    ]  # fmt: skip


@contextlib.contextmanager
def crds_adopted(
    cluster: Cluster, release: Release, links_namespace: str = ""
) -> Iterator[set[str]]:
    """The CRDs an earlier release kept (its `helm uninstall`) are adopted as
    charts/shortlink/README.md says, so `release` owns them; those `release` brought
    are removed at the end (the ShortLinks of `links_namespace` freed of their
    finalizers first: no operator is left to clear them). Yields the kept ones."""
    with cluster.api_client() as api:
        extensions = client.ApiextensionsV1Api(api)
        present = {crd.metadata.name for crd in extensions.list_custom_resource_definition().items}
        kept = present & set(CRDS)
        for name in kept:
            extensions.patch_custom_resource_definition(name, _owned_by(release))
    yield kept
    with cluster.api_client() as api:
        objects = client.CustomObjectsApi(api)
        if links_namespace:
            for link in objects.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]:
                if link["metadata"]["namespace"] == links_namespace:
                    objects.patch_namespaced_custom_object(
                        GROUP, VERSION, links_namespace, PLURAL, link["metadata"]["name"],
                        {"metadata": {"finalizers": None}},
                    )  # fmt: skip
        for name in set(CRDS) - kept:
            try:
                client.ApiextensionsV1Api(api).delete_custom_resource_definition(name)
            except ApiException as error:
                if error.status != 404:
                    raise


def _owned_by(release: Release) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {
                "meta.helm.sh/release-name": release.name,
                "meta.helm.sh/release-namespace": release.namespace,
            },
        }
    }


# --- Watching the roll ------------------------------------------------------------


def serving(pod: Any) -> bool:
    """Ready and not being deleted: what a PodDisruptionBudget counts as healthy."""
    if pod.metadata.deletion_timestamp is not None:
        return False
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


@dataclass
class ReadyWatch:
    """Ready pods per component of `namespace`, sampled every POLL_S from a thread of
    its own; a sample that failed is kept (`error`), so a blind watch can't pass for a
    good roll."""

    cluster: Cluster
    namespace: str
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
        for pod in core.list_namespaced_pod(self.namespace).items:
            component = pod.metadata.labels.get("app.kubernetes.io/component")
            if component in counts and serving(pod):
                counts[component] += 1
        for component, count in counts.items():
            self.fewest[component] = min(self.fewest.get(component, count), count)
        self.samples += 1

    def stop(self, thread: threading.Thread) -> None:
        self._stop.set()
        thread.join(timeout=10)
        if self.error is not None:
            raise AssertionError(f"the Ready watch failed: {self.error!r}") from self.error


def pods(api: client.ApiClient, namespace: str) -> list[Any]:
    """The pods of the rolled components in `namespace`."""
    return [
        pod
        for pod in client.CoreV1Api(api).list_namespaced_pod(namespace).items
        if pod.metadata.labels.get("app.kubernetes.io/component") in ROLLED
    ]


def _rolled_to(api: client.ApiClient, namespace: str, build: Build) -> bool:
    """Every pod of the release serving on `build`, none left of another."""
    found = pods(api, namespace)
    return len(found) == sum(REPLICAS.values()) and all(
        serving(pod) and pod.spec.containers[0].image == build.image for pod in found
    )


def desired_healthy(api: client.ApiClient, release: Release) -> int:
    """The redirector's PodDisruptionBudget's desiredHealthy."""
    budget = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget(
        f"{release.name}-shortlink-redirector", release.namespace
    )
    return int(budget.status.desired_healthy)


@dataclass
class Roll:
    took: float  # from the helm command to every pod serving on the build, no old one left
    helm_took: float
    fewest_ready: dict[str, int]
    samples: int


async def roll(cluster: Cluster, release: Release, command: list[str], build: Build) -> Roll:
    """`command` (helm) run and watched until every pod serves on `build`, then STEADY_S
    more: the old pods' last requests are answered in their preStop and drain."""
    watch = ReadyWatch(cluster, release.namespace)
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        await asyncio.to_thread(helm, cluster, *command, timeout=ROLL_TIMEOUT + 60)
        helm_took = time.monotonic() - started
        with cluster.api_client() as api:
            await asyncio.to_thread(
                wait_for, lambda: _rolled_to(api, release.namespace, build),
                timeout=ROLL_TIMEOUT, what=f"every pod on {build.image}, no other left",
            )  # fmt: skip
        took = time.monotonic() - started
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


def stored(database: str, prefix: str) -> list[StoredLink]:
    """The links whose target starts with `prefix`, in the host's PostgreSQL."""

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


def clicks_received(kafka: str, codes: Collection[str], served: int, timeout: float = 30) -> int:
    """The clicks on `codes` in Kafka once they reach `served`, or what is there after
    `timeout` (the publisher lingers; a shortfall is the caller's to judge)."""
    try:
        return wait_for(
            lambda: (found := clicks_in_kafka(kafka, codes)[0]) >= served and found,
            timeout=timeout, what="every click in Kafka",
        )  # fmt: skip
    except HarnessError:
        return clicks_in_kafka(kafka, codes)[0]
