"""The node itself: pods run from images built here, Services answer through
kube-proxy, names resolve through CoreDNS, and `down` leaves the host as it was."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client

from tests.fixtures.cluster import SharedCluster
from tests.harness.cluster import Cluster, cgroups, images, network
from tests.harness.cluster.host import HostSnapshot
from tests.harness.cluster.images import image_digests
from tests.harness.cluster.workloads import create_namespace, pod_exec, wait_for, wait_ready
from tests.harness.image import ensure_image

HTTP_PORT = 8080
LOWEST_MAC = "02:00:00:00:00:01"  # below the bridge's own and any random one


def _web_pod(image: str, name: str = "web") -> dict[str, Any]:
    """A pod of the project image serving its own root over HTTP, with a hostPort (so
    portmap's rules exist too)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-m", "http.server", str(HTTP_PORT), "-d", "/etc"],
                    "ports": [{"containerPort": HTTP_PORT, "hostPort": 18080}],
                    "readinessProbe": {"tcpSocket": {"port": HTTP_PORT}, "periodSeconds": 1},
                }
            ],
        },
    }


def _service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": HTTP_PORT}]},
    }


def _project_image() -> str:
    tag = next(iter(image_digests(ensure_image())))
    return f"{images.PROJECT_NAME}:{tag}"


def _run_web(api: client.ApiClient, namespace: str) -> str:
    """Start the web pod and its Service; returns the Service's ClusterIP."""
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, _web_pod(_project_image()))
    service = core.create_namespaced_service(namespace, _service("web"))
    wait_ready(api, namespace, "app=web", timeout=120)
    return str(service.spec.cluster_ip)


def _sleeper(image: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                }
            ],
        },
    }


def _host_veth(api: client.ApiClient, namespace: str, pod: str) -> str:
    """The host side of the pod's eth0: the bridge port whose ifindex is eth0's peer."""
    peer = pod_exec(api, namespace, pod, ["cat", "/sys/class/net/eth0/iflink"]).strip()
    return next(
        port.name
        for port in Path(f"/sys/class/net/{network.BRIDGE}/brif").iterdir()
        if Path(f"/sys/class/net/{port.name}/ifindex").read_text().strip() == peer
    )


RESOLVE = """
import socket, time
started = time.monotonic()
try:
    socket.getaddrinfo("kubernetes.default.svc.cluster.local", 443)
except OSError as error:
    print(time.monotonic() - started, error)
else:
    print(time.monotonic() - started, "resolved")
"""


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_down_leaves_nothing_behind(shared_cluster: SharedCluster) -> None:
    shared_cluster.release()  # this test needs the machine's one cluster slot to itself
    before = HostSnapshot.take()
    cluster = Cluster()
    cluster.start()
    try:
        # On demand in tests (test_network_policies), left running here: `down` stops it.
        cluster.start_network_policy_agent()
        with cluster.api_client() as api:
            namespace = create_namespace(api, "teardown")
            cluster_ip = _run_web(api, namespace)
            wait_for(lambda: _answers(f"http://{cluster_ip}/hostname"), timeout=60, what="web")
        running = HostSnapshot.take()
    finally:
        cluster.stop()
    after = HostSnapshot.take()
    # The snapshot sees what a running cluster adds (so the check below can fail) ...
    made = running.differences(before)
    for kind in ("processes", "mounts", "links", "cgroups", "iptables", "sysctls"):
        assert kind in made, f"a running cluster changed no {kind}?"
    assert any(network.BRIDGE in link for link in made["links"][0])
    assert any(cgroups.ROOT in cgroup for cgroup in made["cgroups"][0])
    assert any("kube-network-policies" in process for process in made["processes"][0])
    assert any(network.POLICY_CHAIN in rule for rule in made["iptables"][0])
    # ... and `down` takes all of it away.
    assert after.differences(before) == {}


def test_pods_serve_through_services_and_dns(cluster: Cluster) -> None:
    with cluster.api_client() as api:
        namespace = create_namespace(api, f"node-{uuid.uuid4().hex[:6]}")
        cluster_ip = _run_web(api, namespace)
        # From the host, through kube-proxy's DNAT to the pod on the bridge (once
        # kube-proxy has synced the new endpoints).
        wait_for(lambda: _answers(f"http://{cluster_ip}/hostname"), timeout=30, what="web")
        # From the host, the pod's hostPort on the bridge address (portmap).
        assert _answers(f"http://{network.BRIDGE_IP}:18080/hostname")
        pod = client.CoreV1Api(api).read_namespaced_pod("web", namespace)
        # From inside the pod: CoreDNS names the Service, kube-proxy leads back to the
        # pod itself (hairpin on the bridge).
        script = (
            "import json, socket, urllib.request;"
            f"ip = socket.gethostbyname('web.{namespace}.svc.cluster.local');"
            "body = urllib.request.urlopen(f'http://{ip}/hostname', timeout=5).read();"
            "print(json.dumps([ip, body.decode().strip(), open('/proc/self/cgroup').read()]))"
        )
        resolved, hostname, cgroup = json.loads(
            pod_exec(api, namespace, "web", ["python3", "-c", script])
        )
    assert resolved == cluster_ip
    assert hostname == pod.metadata.name
    # Every cgroup of the container is under the kubelet's own root.
    memory = next(line for line in cgroup.splitlines() if ":memory:" in line)
    assert memory.split(":", 2)[2].startswith(f"/{cgroups.ROOT}/kubepods")


def test_a_pod_reaches_the_host_right_after_another_pod_goes(cluster: Cluster) -> None:
    """CI's late failover: a PostgreSQL member's name lookups went unanswered for 8 s
    after another member's pod was deleted. A bridge whose MAC address was never set
    takes its lowest port's, so deleting the pod on that port changed the gateway's MAC
    under every other pod, whose neighbour entries kept the old one (DNS and Services
    behind the host black-holed until they expired). Here the pod that goes is given
    the lowest MAC on the bridge, the other one has just used the gateway."""
    image = _project_image()
    with cluster.api_client() as api:
        namespace = create_namespace(api, f"mac-{uuid.uuid4().hex[:6]}")
        core = client.CoreV1Api(api)
        for name in ("going", "staying"):
            core.create_namespaced_pod(namespace, _sleeper(image, name))
        wait_ready(api, namespace, count=2, timeout=120)
        veth = _host_veth(api, namespace, "going")
        network.run("ip", "link", "set", veth, "address", LOWEST_MAC)
        pod_exec(api, namespace, "staying", ["python3", "-c", RESOLVE])  # the gateway's MAC
        bridge_mac = Path(f"/sys/class/net/{network.BRIDGE}/address").read_text().strip()
        core.delete_namespaced_pod("going", namespace)
        wait_for(
            lambda: not Path(f"/sys/class/net/{veth}").exists(), timeout=60, what=f"{veth} to go"
        )
        took, outcome = pod_exec(api, namespace, "staying", ["python3", "-c", RESOLVE]).split(
            " ", 1
        )
    after = Path(f"/sys/class/net/{network.BRIDGE}/address").read_text().strip()
    assert outcome.strip() == "resolved", f"{outcome.strip()}; bridge MAC {bridge_mac} -> {after}"
    assert float(took) < 1.0, (
        f"a name lookup took {float(took):.1f} s; bridge MAC {bridge_mac} -> {after}"
    )
    assert after == bridge_mac
