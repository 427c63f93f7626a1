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
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from tests.harness.cluster import Cluster, images
from tests.harness.cluster import upgrade as up
from tests.harness.cluster.helm import helm
from tests.harness.cluster.host_services import host_services
from tests.harness.cluster.in_chart_postgres import (
    STEADY_S,
    Release,
    installed,
    traffic,
    warm_links,
)
from tests.harness.cluster.upgrade import Build, Clicks
from tests.harness.cluster.workloads import pod_exec, wait_for
from tests.harness.create_load import outcome
from tests.harness.shortlinks import Cluster as ShortLinks

RELEASE = Release("shortlink-upgrade", "up")
NAMESPACE = RELEASE.namespace
LINKS_NAMESPACE = "upgrade-links"


@pytest.fixture(scope="module")
def builds(cluster: Cluster) -> tuple[Build, Build]:
    return up.builds(cluster)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with host_services(tmp_path_factory.mktemp("upgrade-host"), "chart_upgrade") as urls:
        yield urls


@pytest.fixture(scope="module")
def crds_before(cluster: Cluster) -> Iterator[set[str]]:
    with up.crds_adopted(cluster, RELEASE, LINKS_NAMESPACE) as kept:
        yield kept


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
        cluster, RELEASE, values_file, lambda _: up.chart_values(services, builds[0].tag)
    ) as addresses:
        yield addresses


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
        desired_healthy = up.desired_healthy(api, RELEASE)

        async def run() -> tuple[up.Roll, Any]:
            async with traffic(api, RELEASE, release, prefix, links) as running:
                await asyncio.sleep(STEADY_S)
                roll = await up.roll(cluster, RELEASE, command, build)
            return roll, running

        roll, running = asyncio.run(run())
    result = outcome(running.answers, up.stored(services["database_from_host"], prefix))
    redirects = running.warm
    clicks.served += redirects.total - len(redirects.failures)
    received = up.clicks_received(services["kafka_from_host"], clicks.codes, clicks.served)
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
        for pod in up.pods(api, NAMESPACE):
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
    command = up.upgrade_command(RELEASE, second)
    _under_load(cluster, release, services, clicks, command, second, "upgrade")


def test_helm_rollback_under_load_answers_everything(
    cluster: Cluster,
    release: dict[str, str],
    services: dict[str, str],
    builds: tuple[Build, Build],
    clicks: Clicks,
) -> None:
    command = up.rollback_command(RELEASE)
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
            wait_for(
                lambda: not up.pods(api, NAMESPACE), timeout=120, what="the release's pods to go"
            )
            extensions = client.ApiextensionsV1Api(api)
            for name in up.CRDS:
                crd = extensions.read_custom_resource_definition(name)
                assert crd.metadata.deletion_timestamp is None, name
        kept = links.get("kept")
        assert kept is not None
        assert kept["spec"]["code"] == "kept-on-uninstall"
        assert kept["metadata"].get("deletionTimestamp") is None
    finally:
        links.close()
