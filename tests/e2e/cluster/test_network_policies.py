"""NetworkPolicies enforced (issue 18, proof 7): the chart installed with
`networkPolicy.enabled`, its in-chart PostgreSQL (one member) and Redis as a pod in the
release's namespace (tests/harness/cluster/redis_pod.py, the image of
scripts/build-redis-image) guarded by `networkPolicy.dependencies`, then
kube-network-policies, the agent built here from its Go module
(tests/harness/kube/netpol), started on the node.

A pod in another namespace, outside every policy of the release, first reaches
PostgreSQL, Redis and every ops port (policies alone are only objects: nothing enforces
them), then, with the agent on, none of them, while the release's own flows still pass:
its pods restarted under the policies migrate PostgreSQL and come Ready, a link created
through the api Service redirects through the redirector Service, also from that pod
(the public ports admit anyone by default), the link is in Redis (the release's pods
reached it through the fence), and the PostgresCluster stays Ready.

Not a NetworkPolicy's to fence: a Redis (or PostgreSQL, Kafka) outside the cluster. A
policy selects pods; a server that is not a pod is reached by any pod the network routes
to it, and is fenced by its own firewall and AUTH.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client

from tests.harness.cluster import Cluster, images, redis_pod
from tests.harness.cluster.helm import project_image_tag
from tests.harness.cluster.in_chart_postgres import (
    API_KEY,
    Release,
    chart_values,
    crds_applied,
    import_postgres_image,
    installed,
    status,
    writable,
)
from tests.harness.cluster.node import NODE_NAME
from tests.harness.cluster.workloads import (
    create_namespace,
    describe_pods,
    pod_exec,
    wait_for,
    wait_ready,
)
from tests.support.links import new_link_at

RELEASE = Release("netpol")
NAMESPACE = RELEASE.namespace
OUTSIDE = "netpol-outside"
PROBE = "probe"
COMPONENTS = ("api", "redirector", "operator")
CONNECT_TIMEOUT = 3.0
# From inside the probe pod: a TCP connect to each target, all at once; "ok",
# "timeout" (dropped), or the error's name.
CONNECT_SCRIPT = f"""
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
targets = json.loads(sys.argv[1])
def connect(target):
    try:
        socket.create_connection((target[0], target[1]), timeout={CONNECT_TIMEOUT}).close()
        return "ok"
    except socket.timeout:
        return "timeout"
    except OSError as error:
        return type(error).__name__
with ThreadPoolExecutor(len(targets)) as pool:
    print(json.dumps(dict(zip(list(targets), pool.map(connect, targets.values())))))
"""
# From inside the probe pod: a link created through the api Service and followed
# (not redirected) through the redirector Service; prints [status, Location].
CREATE_AND_FOLLOW_SCRIPT = """
import json, sys, urllib.error, urllib.request
api, redirector, key, target = sys.argv[1:]
request = urllib.request.Request(
    api + "/v1/urls", method="POST", data=json.dumps({"original_url": target}).encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + key},
)
code = json.load(urllib.request.urlopen(request, timeout=10))["short_code"]
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
try:
    urllib.request.build_opener(Stay).open(redirector + "/" + code, timeout=10)
    print(json.dumps(["no redirect", None]))
except urllib.error.HTTPError as error:
    print(json.dumps([error.code, error.headers["Location"]]))
"""


def _values(redis_url: str, postgres_image: str, storage_class: str) -> dict[str, Any]:
    values = chart_values(redis_url, postgres_image, storage_class)
    values["postgresql"]["instances"] = 1
    # The chart's defaults: public ports from anyone, ops ports from no pod (the
    # kubelet's probes come from the node, which policies don't govern); the Redis pod
    # admits the release's components only.
    values["networkPolicy"] = {
        "enabled": True,
        "dependencies": [
            {
                "name": "redis",
                "podSelector": {"matchLabels": redis_pod.LABELS},
                "ports": [redis_pod.PORT],
            }
        ],
    }
    return values


@pytest.fixture(scope="module")
def redis(cluster: Cluster) -> Iterator[redis_pod.RedisPod]:
    """Redis as a pod in the release's namespace, up before the release that uses it."""
    with cluster.api_client() as api:
        create_namespace(api, NAMESPACE)
    with redis_pod.redis_pod(cluster, NAMESPACE) as found:
        yield found


@pytest.fixture(scope="module")
def release(
    cluster: Cluster, redis: redis_pod.RedisPod, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    postgres_image = import_postgres_image(cluster)
    values_file = tmp_path_factory.mktemp("values") / "values.json"
    with (
        crds_applied(cluster),
        installed(
            cluster,
            RELEASE,
            values_file,
            lambda storage_class: _values(redis.url, postgres_image, storage_class),
        ) as services,
    ):
        yield services


@pytest.fixture(scope="module")
def probe(cluster: Cluster, release: dict[str, str]) -> Iterator[str]:
    """A pod of the project's image in a namespace of its own: no policy selects it,
    none of the release's admits it."""
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        create_namespace(api, OUTSIDE)
        core.create_namespaced_pod(OUTSIDE, _probe_pod())
        wait_ready(api, OUTSIDE, f"app={PROBE}", timeout=120)
    yield PROBE
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        core.delete_namespace(OUTSIDE)

        def gone() -> bool:
            return not core.list_namespaced_pod(OUTSIDE).items

        wait_for(gone, timeout=120, what=f"the pods of {OUTSIDE} to go")


@pytest.fixture(scope="module")
def agent(cluster: Cluster, probe: str) -> Iterator[None]:
    """kube-network-policies on the node for this module's remaining tests."""
    started = time.monotonic()
    cluster.start_network_policy_agent()
    print(f"kube-network-policies started in {time.monotonic() - started:.1f}s")
    try:
        yield
    finally:
        cluster.stop_network_policy_agent()


def _probe_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": PROBE, "labels": {"app": PROBE}},
        "spec": {
            "nodeName": NODE_NAME,
            "containers": [
                {
                    "name": PROBE,
                    "image": f"{images.PROJECT_NAME}:{project_image_tag()}",
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", "import time; time.sleep(3600)"],
                }
            ],
            "terminationGracePeriodSeconds": 0,
        },
    }


def _targets(api: client.ApiClient) -> dict[str, tuple[str, int]]:
    """What the outside pod must not reach: PostgreSQL (the member and its read-write
    Service), Redis (its pod and its Service) and each component's ops port (its pod
    and its Service)."""
    core = client.CoreV1Api(api)
    # The operator makes the read-write Service; it may trail `helm install --wait`.
    read_write = f"{RELEASE.postgres}-rw"
    wait_for(
        lambda: core.read_namespaced_service(read_write, NAMESPACE),
        timeout=60,
        what=f"Service {read_write}",
    )
    found: dict[str, tuple[str, int]] = {}
    pods = core.list_namespaced_pod(NAMESPACE).items
    for pod in pods:
        component = pod.metadata.labels.get("app.kubernetes.io/component")
        if pod.status.phase != "Running" or pod.metadata.deletion_timestamp:
            continue
        if component == "postgresql":
            found[f"postgresql pod {pod.metadata.name}"] = (pod.status.pod_ip, 5432)
        elif pod.metadata.labels.get("app") == redis_pod.NAME:
            found[f"redis pod {pod.metadata.name}"] = (pod.status.pod_ip, redis_pod.PORT)
        elif component in COMPONENTS:
            [ops] = [
                port.container_port
                for container in pod.spec.containers
                for port in container.ports or []
                if port.name == "ops"
            ]
            found[f"{component} ops port (pod)"] = (pod.status.pod_ip, ops)
    for service in core.list_namespaced_service(NAMESPACE).items:
        # The standbys' Service: none with one member.
        if service.spec.cluster_ip in (None, "None") or (
            service.metadata.name == RELEASE.read_only_service
        ):
            continue
        for port in service.spec.ports:
            if port.name == "ops" or port.port in (5432, redis_pod.PORT):
                found[f"service {service.metadata.name}:{port.name or port.port}"] = (
                    service.spec.cluster_ip,
                    port.port,
                )
    assert {name.split()[0] for name in found} >= {"postgresql", "redis", *COMPONENTS}, found
    assert any(read_write in name for name in found), found
    assert f"service {redis_pod.NAME}:redis" in found, found
    return found


def _public(services: dict[str, str]) -> dict[str, tuple[str, int]]:
    """The api's and the redirector's public ports, through their Services."""
    found = {}
    for component in ("api", "redirector"):
        url = httpx.URL(RELEASE.service(services, component))
        found[f"{component} public port (service)"] = (str(url.host), int(url.port or 80))
    return found


def _connect(api: client.ApiClient, targets: dict[str, tuple[str, int]]) -> dict[str, str]:
    output = pod_exec(api, OUTSIDE, PROBE, ["python3", "-c", CONNECT_SCRIPT, json.dumps(targets)])
    result: dict[str, str] = json.loads(output.strip().splitlines()[-1])
    return result


def test_the_chart_renders_a_policy_for_every_pod(
    cluster: Cluster, release: dict[str, str]
) -> None:
    with cluster.api_client() as api:
        policies = client.NetworkingV1Api(api).list_namespaced_network_policy(NAMESPACE).items
        pods = client.CoreV1Api(api).list_namespaced_pod(NAMESPACE).items
    selectors = [policy.spec.pod_selector.match_labels for policy in policies]
    for pod in pods:
        labels = pod.metadata.labels
        assert any(selector.items() <= labels.items() for selector in selectors), labels
    # The Redis pod's: ingress only (what a dependency reaches is not the chart's to know).
    assert {tuple(p.spec.policy_types) for p in policies} == {("Ingress", "Egress"), ("Ingress",)}


def test_without_the_agent_the_outside_pod_reaches_everything(
    cluster: Cluster, release: dict[str, str], probe: str
) -> None:
    """The policies are in place, nothing enforces them: the check below can fail."""
    with cluster.api_client() as api:
        targets = {**_targets(api), **_public(release)}
        reached = _connect(api, targets)
    print(f"without the agent: {reached}")
    assert reached == dict.fromkeys(targets, "ok")


def test_with_the_agent_the_outside_pod_reaches_no_database_and_no_ops_port(
    cluster: Cluster, release: dict[str, str], probe: str, agent: None
) -> None:
    with cluster.api_client() as api:
        fenced = _targets(api)
        public = _public(release)
        started = time.monotonic()
        reached = _connect(api, {**fenced, **public})
    print(f"with the agent ({time.monotonic() - started:.1f}s): {reached}")
    # Dropped by the agent's verdict: the connect hears nothing back.
    assert {name: reached[name] for name in fenced} == dict.fromkeys(fenced, "timeout")
    # The public ports still admit anyone (networkPolicy.ingressFrom empty).
    assert {name: reached[name] for name in public} == dict.fromkeys(public, "ok")


def test_the_releases_own_flows_pass_under_the_policies(
    cluster: Cluster, release: dict[str, str], probe: str, agent: None
) -> None:
    """Every pod of the release replaced with the agent on: the new pods connect
    afresh (the migrate init containers and the operator to PostgreSQL, each component
    to DNS and Redis) and come Ready; a link is created through the api Service and
    followed through the redirector Service, from the host and from the outside pod;
    the redirector cached it in Redis (through the fence)."""
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        old = {
            pod.metadata.name
            for component in COMPONENTS
            for pod in core.list_namespaced_pod(
                NAMESPACE, label_selector=f"app.kubernetes.io/component={component}"
            ).items
        }
        started = time.monotonic()
        for name in old:
            core.delete_namespaced_pod(name, NAMESPACE)
        for component in COMPONENTS:

            def replaced(component: str = component) -> bool:
                pods = core.list_namespaced_pod(
                    NAMESPACE, label_selector=f"app.kubernetes.io/component={component}"
                ).items
                return any(
                    pod.metadata.name not in old
                    and any(
                        c.type == "Ready" and c.status == "True"
                        for c in pod.status.conditions or []
                    )
                    for pod in pods
                )

            try:
                wait_for(replaced, timeout=180, what=f"a new {component} pod Ready")
            except Exception as error:
                raise AssertionError(f"{error}\n{describe_pods(api, NAMESPACE)}") from None
        print(f"pods replaced under the policies, Ready in {time.monotonic() - started:.1f}s")

        def postgres_ready() -> dict[str, Any] | None:
            found = status(api, RELEASE)
            return found if writable(found) else None

        wait_for(postgres_ready, timeout=60, what=f"PostgresCluster {RELEASE.postgres} Ready")

        target = "https://example.com/network-policies"
        # Services just repointed to the new pods: kube-proxy may lag a sync.
        api_url = RELEASE.service(release, "api")
        redirector_url = RELEASE.service(release, "redirector")
        code = wait_for(
            lambda: _try_create(api_url, target), timeout=60, what="a create through the api"
        )
        response = httpx.get(f"{redirector_url}/{code}", timeout=10)
        assert (response.status_code, response.headers["location"]) == (302, target)
        # The redirector's cache entry (core/shortlink/adapters/redis_cache.py), read in
        # the Redis pod: the release's pods reached Redis under the policies.
        cached = redis_pod.redis_cli(cluster, NAMESPACE, "EXISTS", f"short:{code}")
        assert cached == "1", cached

        # From the outside pod: pod -> Service -> pod, each connection given a verdict.
        output = pod_exec(
            api,
            OUTSIDE,
            PROBE,
            [
                "python3",
                "-c",
                CREATE_AND_FOLLOW_SCRIPT,
                api_url,
                redirector_url,
                API_KEY,
                f"{target}/pod",
            ],
        )
    assert json.loads(output.strip().splitlines()[-1]) == [302, f"{target}/pod"], output


def _try_create(api_url: str, target: str) -> str | None:
    try:
        return new_link_at(api_url, target, API_KEY)
    except (httpx.HTTPError, AssertionError):
        return None
