"""`helm install` on the node, against PostgreSQL, Redis and Kafka on the host (reached
by the pods at the bridge's host address): every pod of the chart runs from the image
built here, links are created through the api Service and followed through the
redirector Service (kube-proxy), ShortLinks are synced by the operator pod, and each
container runs as Pod Security "restricted" says, read from inside it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from playwright.sync_api import expect, sync_playwright

from tests.harness import argocd
from tests.harness.cluster import Cluster, network
from tests.harness.cluster.helm import CHART, helm, project_image_tag
from tests.harness.cluster.host_services import chart_on_host_services, clicks_in_kafka
from tests.harness.cluster.host_services import host_services as external_services
from tests.harness.cluster.workloads import (
    describe_pods,
    pod_exec,
    ready_pods,
    wait_for,
    wait_ready,
    wait_until_answering,
)
from tests.harness.ports import free_port
from tests.harness.processes import HarnessError
from tests.harness.shortlinks import Cluster as ShortLinks
from tests.support.links import new_link_at

NAMESPACE = "shortlink"
RELEASE = "sl"
API_KEY = "sl_cluster_e2e_key_0123456789"
SECRET = "cluster-e2e-secret-0123456789-0123456789"
INSTALL_TIMEOUT = "240s"
LEASE_SECONDS = 5
# A standby takes over when the leader's pod is deleted: the leader releases the Lease on
# SIGTERM, so well within LEASE_SECONDS; the new leader reconciles a new ShortLink soon after.
HANDOVER_BUDGET = LEASE_SECONDS + 10.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def host_services(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """PostgreSQL, Redis and Kafka on the host (tests/harness/cluster/host_services.py)."""
    with external_services(tmp_path_factory.mktemp("host-services"), "chart_cluster") as urls:
        yield urls


def chart_values(services: dict[str, str]) -> dict[str, Any]:
    return {
        **chart_on_host_services(services, project_image_tag(), SECRET, API_KEY, "1000/minute"),
        "api": {"replicas": 1},
        "redirector": {"replicas": 2},
        # Two replicas: one leads through the Lease, one stands by (proof 6).
        "operator": {"replicas": 2, "leaseSeconds": LEASE_SECONDS},
    }


@pytest.fixture(scope="module")
def values_file(host_services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    values = tmp_path_factory.mktemp("values") / "values.json"
    values.write_text(json.dumps(chart_values(host_services)))
    return values


@pytest.fixture(scope="module")
def release(cluster: Cluster, values_file: Path) -> Iterator[dict[str, str]]:
    """The chart installed (`helm install --wait`); the Services' addresses."""
    values = values_file
    with cluster.api_client() as api:
        try:
            helm(
                cluster, "install", RELEASE, str(CHART), "--namespace", NAMESPACE,
                "--create-namespace", "--values", str(values), "--wait",
                "--timeout", INSTALL_TIMEOUT,
            )  # fmt: skip
        except AssertionError as error:
            raise AssertionError(f"{error}\n{describe_pods(api, NAMESPACE)}") from None
        core = client.CoreV1Api(api)
        services = {
            service.metadata.name: f"http://{service.spec.cluster_ip}:{service.spec.ports[0].port}"
            for service in core.list_namespaced_service(NAMESPACE).items
        }
    wait_until_answering(_service(services, c) for c in ("api", "redirector"))
    yield services
    helm(cluster, "uninstall", RELEASE, "--namespace", NAMESPACE, "--wait", "--timeout", "120s")


def _service(services: dict[str, str], component: str) -> str:
    return services[f"{RELEASE}-shortlink-{component}"]


def test_every_pod_of_the_chart_runs_ready(cluster: Cluster, release: dict[str, str]) -> None:
    with cluster.api_client() as api:
        pods = client.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items
        ready = {pod.metadata.name for pod in ready_pods(api, NAMESPACE)}
    names = {pod.metadata.name for pod in pods}
    assert names == ready
    components = {pod.metadata.labels["app.kubernetes.io/component"] for pod in pods}
    assert components == {"api", "redirector", "operator"}
    assert len(pods) == 5


def test_a_link_created_through_the_api_service_redirects_through_the_redirector_service(
    release: dict[str, str],
) -> None:
    code = new_link_at(_service(release, "api"), "https://example.com/through-kube-proxy", API_KEY)
    # Both redirector pods answer behind the one Service address: ask several times.
    for _ in range(6):
        response = httpx.get(f"{_service(release, 'redirector')}/{code}", timeout=10)
        assert response.status_code == 302
        assert response.headers["location"] == "https://example.com/through-kube-proxy"


def test_a_shortlink_applied_goes_ready_and_redirects(
    cluster: Cluster, release: dict[str, str]
) -> None:
    links = ShortLinks(cluster.kube, "marketing")
    try:
        cluster.kube.create_namespace("marketing")
        links.create("launch", {"code": "on-cluster", "target": "https://example.com/launch"})
        links.wait_ready("launch")
        response = httpx.get(f"{_service(release, 'redirector')}/on-cluster", timeout=10)
        assert response.status_code == 302
        assert response.headers["location"] == "https://example.com/launch"
    finally:
        links.close()


def test_the_web_ui_served_through_the_api_service_signs_in(release: dict[str, str]) -> None:
    """Debian's chromium (Playwright) on the api Service's address: the page loads, a
    wrong key is refused, the chart's initial key signs in to the links page."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True, timeout=60_000
        )
        try:
            page = browser.new_page(base_url=_service(release, "api"))
            page.set_default_timeout(30_000)
            page.goto("/")
            expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
            page.get_by_label("API key").fill("sl_not_a_real_key")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_have_text(
                "That API key is not valid, or it was revoked."
            )
            page.get_by_label("API key").fill(API_KEY)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Your links")
        finally:
            browser.close()


# Pod Security "restricted" as the runtime applied it, read from /proc inside each
# running container (the kubelet's and runc's doing, not admission's).
PROBE = (
    "import json, os;"
    "status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines());"
    "root = [m.split()[3] for m in open('/proc/self/mounts').read().splitlines()"
    " if m.split()[1] == '/'];"
    "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid(),"
    " 'groups': os.getgroups(), 'root': root[-1],"
    " 'cap_eff': status['CapEff'].strip(), 'cap_prm': status['CapPrm'].strip(),"
    " 'no_new_privs': status['NoNewPrivs'].strip(), 'seccomp': status['Seccomp'].strip()}))"
)


def test_every_container_runs_restricted(cluster: Cluster, release: dict[str, str]) -> None:
    seen = []
    with cluster.api_client() as api:
        for pod in client.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items:
            for container in pod.spec.containers:
                output = pod_exec(
                    api, NAMESPACE, pod.metadata.name, ["python3", "-c", PROBE], container.name
                )
                facts = json.loads(output)
                seen.append((pod.metadata.name, container.name))
                assert facts["uid"] == facts["euid"] == 10001, facts
                assert facts["gid"] == 10001, facts
                assert facts["root"].split(",")[0] == "ro", facts
                assert int(facts["cap_eff"], 16) == 0, facts
                assert int(facts["cap_prm"], 16) == 0, facts
                assert facts["no_new_privs"] == "1", facts
                assert facts["seccomp"] == "2", facts  # a filter: RuntimeDefault
    assert len(seen) == 5


def test_the_eviction_api_refuses_what_would_break_the_redirector_pdb(
    cluster: Cluster, release: dict[str, str]
) -> None:
    selector = "app.kubernetes.io/component=redirector"
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        policy = client.PolicyV1Api(api)
        name = f"{RELEASE}-shortlink-redirector"
        wait_for(
            lambda: (policy.read_namespaced_pod_disruption_budget(name, NAMESPACE).status
                     .disruptions_allowed == 1),
            timeout=60, what="the PDB to allow one disruption",
        )  # fmt: skip
        first, second = (
            pod.metadata.name
            for pod in wait_ready(api, NAMESPACE, selector, count=2, timeout=60)[:2]
        )

        def evict(pod: str) -> int:
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=NAMESPACE))
            try:
                core.create_namespaced_pod_eviction(pod, NAMESPACE, body)
            except client.exceptions.ApiException as error:
                return int(error.status)
            return 201

        assert evict(first) == 201
        # One redirector is down until its replacement is Ready: a second would break the PDB.
        assert evict(second) == 429
        wait_ready(api, NAMESPACE, selector, count=2, timeout=120)
        # Both Ready again: the budget allows one disruption again.
        wait_for(
            lambda: (policy.read_namespaced_pod_disruption_budget(name, NAMESPACE).status
                     .disruptions_allowed == 1),
            timeout=60, what="the PDB to allow a disruption again",
        )  # fmt: skip


def test_the_standby_operator_takes_the_lease_and_reconciles_when_the_leader_pod_is_deleted(
    cluster: Cluster, release: dict[str, str]
) -> None:
    lease_name = f"{RELEASE}-shortlink-operator"
    links = ShortLinks(cluster.kube, "handover")
    with cluster.api_client() as api:
        coordination = client.CoordinationV1Api(api)
        core = client.CoreV1Api(api)
        wait_ready(api, NAMESPACE, "app.kubernetes.io/component=operator", count=2, timeout=120)
        leader = wait_for(
            lambda: coordination.read_namespaced_lease(lease_name, NAMESPACE).spec.holder_identity,
            timeout=60, what="an operator to hold the Lease",
        )  # fmt: skip
        try:
            cluster.kube.create_namespace("handover")
            started = time.monotonic()
            core.delete_namespaced_pod(leader, NAMESPACE)
            successor = wait_for(
                lambda: _other_holder(coordination, lease_name, leader),
                timeout=HANDOVER_BUDGET, what="another operator to take the Lease",
            )  # fmt: skip
            handed_over = time.monotonic() - started
            links.create("after", {"code": "after-handover", "target": "https://example.com/a"})
            links.wait_ready("after", timeout=HANDOVER_BUDGET)
            reconciled = time.monotonic() - started
        finally:
            links.close()
    print(f"lease handover {handed_over:.1f}s, new ShortLink Ready {reconciled:.1f}s after delete")
    assert successor != leader
    assert reconciled < HANDOVER_BUDGET
    response = httpx.get(f"{_service(release, 'redirector')}/after-handover", timeout=10)
    assert response.status_code == 302


def _other_holder(
    coordination: client.CoordinationV1Api, lease_name: str, leader: str
) -> str | None:
    holder = coordination.read_namespaced_lease(lease_name, NAMESPACE).spec.holder_identity
    return holder if holder and holder != leader else None


def test_argocd_health_of_shortlinks_the_operator_wrote(
    cluster: Cluster, release: dict[str, str]
) -> None:
    """gitops/argocd/shortlink.io/ShortLink/health.lua under lua5.1, on the statuses the
    operator pod wrote: served -> Healthy, spec.active false -> Suspended, a code another
    ShortLink holds -> Degraded."""
    links = ShortLinks(cluster.kube, "gitops")
    try:
        cluster.kube.create_namespace("gitops")
        links.create("served", {"code": "gitops-served", "target": "https://example.com/s"})
        links.create(
            "paused", {"code": "gitops-paused", "target": "https://example.com/p", "active": False}
        )
        served = links.wait_ready("served")
        paused = links.wait_ready("paused")
        links.create("taken", {"code": "gitops-served", "target": "https://example.com/t"})
        taken = wait_for(
            lambda: _ready_status(links.get("taken")) == "False" and links.get("taken"),
            timeout=30, what="the duplicate code refused",
        )  # fmt: skip
    finally:
        links.close()
    assert argocd.health("ShortLink", served)[0] == "Healthy"
    assert argocd.health("ShortLink", paused)[0] == "Suspended"
    status, message = argocd.health("ShortLink", taken)
    assert status == "Degraded", message


def _ready_status(obj: dict[str, Any] | None) -> str | None:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition["type"] == "Ready":
            return str(condition["status"])
    return None


# Last in the module: the upgrade below rolls the release's pods.
def test_the_analytics_worker_pod_keeps_clicks_in_kafka_without_a_clickhouse(
    cluster: Cluster,
    release: dict[str, str],
    host_services: dict[str, str],
    values_file: Path,
) -> None:
    """No ClickHouse server can be had on this machine (no reachable registry serves one,
    and chdb is a library, not a server a pod could reach): the worker is pointed at the
    bridge address where none listens. How far it goes: the pod runs the built image,
    fails its ClickHouse migrations at start and is restarted by the kubelet, never Ready
    (its readiness needs ClickHouse and the bus); the clicks the redirector publishes stay
    in Kafka, no offset committed by its consumer group, until a store is reachable."""
    no_clickhouse = f"http://{network.BRIDGE_IP}:{free_port()}/shortlink"
    code = new_link_at(_service(release, "api"), "https://example.com/clicked", API_KEY)
    before = clicks_in_kafka(host_services["kafka_from_host"], {code})
    helm(
        cluster, "upgrade", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "--values", str(values_file), "--set", "analytics.enabled=true",
        "--set", f"clickhouse.url={no_clickhouse}", "--timeout", INSTALL_TIMEOUT,
    )  # fmt: skip
    selector = "app.kubernetes.io/component=analytics"
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        restarted = wait_for(
            lambda: [
                pod
                for pod in core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
                if any(s.restart_count >= 1 for s in pod.status.container_statuses or [])
            ],
            timeout=180, what="the analytics worker to be restarted by the kubelet",
        )  # fmt: skip
        wait_ready(api, NAMESPACE, "app.kubernetes.io/component=redirector", count=2, timeout=180)
        for _ in range(20):
            response = httpx.get(f"{_service(release, 'redirector')}/{code}", timeout=10)
            assert response.status_code == 302
        assert ready_pods(api, NAMESPACE, selector) == []

        def previous_log() -> str | None:
            # While the kubelet replaces the crashed container, the previous one's log
            # may be out of reach for a moment (its answer is then this message).
            try:
                text = core.read_namespaced_pod_log(
                    restarted[0].metadata.name, NAMESPACE, container="analytics", previous=True
                )
            except client.exceptions.ApiException:
                return None
            return None if text.startswith("unable to retrieve container logs") else str(text)

        log = wait_for(previous_log, timeout=60, what="the analytics worker's previous log")
    assert "clickhouse" in log.lower(), log[-2000:]
    try:
        clicks, committed = wait_for(
            lambda: (found := clicks_in_kafka(host_services["kafka_from_host"], {code}))[0]
            >= before[0] + 20 and found,
            timeout=60, what="the 20 clicks in Kafka",
        )  # fmt: skip
    except HarnessError as error:
        now = clicks_in_kafka(host_services["kafka_from_host"], {code})
        with cluster.api_client() as api:
            logs = [
                client.CoreV1Api(api).read_namespaced_pod_log(pod.metadata.name, NAMESPACE)[-3000:]
                for pod in ready_pods(api, NAMESPACE, "app.kubernetes.io/component=redirector")
            ]
        raise AssertionError(f"{error}: before {before}, now {now}\n" + "\n".join(logs)) from None
    assert committed == 0  # the worker never consumed a click it could not store
    print(f"clicks in Kafka: {before[0]} -> {clicks}; committed by the worker: {committed}")
