"""The chart drives the real processes: each rendered Deployment's containers are started
from the built image (its rootfs, read-only, as its user) with exactly the args, the
environment and the ports the chart gives them (tests/harness/pods.py resolves them as a
kubelet would), against the test PostgreSQL and Redis and a real kube-apiserver holding
the chart's ServiceAccount and RBAC. A link created through the api is served by the
redirector; ShortLinks are synced and a PostgresCluster over three real members is kept
(EndpointSlices, a switchover) by the operator with its service-account token only, and
the API server's audit log shows it used exactly the verbs the chart grants."""

from __future__ import annotations

import itertools
import subprocess
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from tests.harness import PostgresServer, RedisServer, ServiceProcess, free_port
from tests.harness.chart import Manifest, ServerSideApply, find, granted_rules, render
from tests.harness.image import UnpackedImage, unpacked_image
from tests.harness.kube import KubeControlPlane, ensure_kube_binaries
from tests.harness.pg_cluster import PostgresCluster
from tests.harness.pgc import ClusterResource
from tests.harness.pods import ContainerSpec, RenderedPods
from tests.harness.shortlinks import CRDS, Cluster
from tests.support.waiting import wait_for

NAMESPACE = "shortlink"
RELEASE = "sl"
API_KEY = "sl_chart_e2e_key_0123456789"
SECRET = "chart-e2e-secret-0123456789-0123456789"
LINKS_NAMESPACE = "marketing"
DATABASES_NAMESPACE = "databases"  # the PostgresCluster's (its Role comes with the chart)
ELSEWHERE = "elsewhere"  # watched, but not named for password Secrets
SERVICE_ACCOUNT_DIR = "/run/secrets/kubernetes.io/serviceaccount"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeControlPlane]:
    """A control plane of its own: with an audit log of every request."""
    binaries = ensure_kube_binaries()
    base = tmp_path_factory.mktemp("kube-audit")
    with KubeControlPlane(base, binaries=binaries, audit=True) as control_plane:
        yield control_plane


@pytest.fixture(scope="module")
def image() -> Iterator[UnpackedImage]:
    with unpacked_image() as unpacked:
        yield unpacked


@pytest.fixture(scope="module")
def chart_values(postgres_server: PostgresServer, redis_server: RedisServer) -> dict[str, Any]:
    redirector_port = free_port()
    return {
        "config": {
            "baseUrl": f"http://127.0.0.1:{redirector_port}",
            "rateLimit": "1000/minute",
            # Loopback only on the test machine (a pod listens on 0.0.0.0 in its own netns).
            "extraEnv": [{"name": "SHORTLINK_HOST", "value": "127.0.0.1"}],
        },
        "database": {"url": postgres_server.create_database("chart_e2e")},
        "redis": {"url": redis_server.url},
        "secretKey": {"value": SECRET},
        "initialApiKey": {"value": API_KEY},
        "api": {"port": free_port(), "opsPort": free_port()},
        "redirector": {"port": redirector_port, "opsPort": free_port()},
        "operator": {
            "port": free_port(),
            "leaseSeconds": 3,
            "postgresFailover": True,
            # Every namespace is watched, but Secrets, Services and EndpointSlices are
            # granted only where named (issue 19, finding 3).
            "passwordSecretNamespaces": [LINKS_NAMESPACE],
            "postgresNamespaces": [DATABASES_NAMESPACE],
        },
    }


@pytest.fixture(scope="module")
def manifests(
    chart_values: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> list[Manifest]:
    values = tmp_path_factory.mktemp("chart-values") / "values.yaml"
    values.write_text(yaml.safe_dump(chart_values))
    return render(values, release=RELEASE, namespace=NAMESPACE)


@pytest.fixture(scope="module")
def installed(kube: KubeControlPlane, manifests: list[Manifest]) -> list[Manifest]:
    """Every rendered object applied for real (no controllers run: pods are ours to start)."""
    for name in (NAMESPACE, LINKS_NAMESPACE, DATABASES_NAMESPACE):
        kube.create_namespace(name)
    with ServerSideApply(kube) as ssa:
        for manifest in manifests:
            applied = ssa.apply(manifest, NAMESPACE, dry_run=False)
            assert applied.status in (200, 201), applied.body
    kube.apply_crds(CRDS)  # waits until served (the chart's copies are the same CRDs)
    return manifests


def token_for(kube: KubeControlPlane, account: str, directory: Path) -> Path:
    """What kubelet mounts for a pod of `account`: token, ca.crt, namespace."""
    token = kube.service_account_token(NAMESPACE, account)
    directory.mkdir(mode=0o755)
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_text(kube.ca_file.read_text())
    (directory / "namespace").write_text(NAMESPACE)
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


class Pods:
    """Starts rendered containers from the image; stops them all at the end."""

    def __init__(
        self, image: UnpackedImage, kube: KubeControlPlane, manifests: list[Manifest], log_dir: Path
    ) -> None:
        self.image = image
        self.kube = kube
        self.rendered = RenderedPods(manifests, NAMESPACE)
        self.log_dir = log_dir
        self.started: list[ServiceProcess] = []
        self._mounts = Path(tempfile.mkdtemp(prefix="shortlink-sa-"))
        self._mounts.chmod(0o755)

    def _command(self, spec: ContainerSpec) -> list[str]:
        binds: dict[Path, str] = {}
        env = dict(spec.env)
        if spec.service_account is not None:
            mount = token_for(self.kube, spec.service_account, self._mounts / f"sa-{next(_names)}")
            binds[mount] = SERVICE_ACCOUNT_DIR
            # As kubelet sets them for the in-cluster client.
            env["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
            env["KUBERNETES_SERVICE_PORT"] = str(self.kube.port)
        for target, files in spec.files.items():  # the chart's secrets, as kubelet writes them
            directory = self._mounts / f"secrets-{next(_names)}"
            directory.mkdir(mode=0o755)
            for name, content in files.items():
                (directory / name).write_text(content)
                (directory / name).chmod(0o644)
            binds[directory] = target
        return self.image.command(spec.args, env, binds=binds)

    def run_init(self, deployment: str, name: str) -> None:
        spec = self.rendered.container(deployment, name, init=True)
        result = subprocess.run(
            self._command(spec), capture_output=True, text=True, check=False, timeout=120
        )
        assert result.returncode == 0, f"{deployment}/{name}: {result.stdout}{result.stderr}"

    def start(self, deployment: str, name: str) -> tuple[ContainerSpec, ServiceProcess]:
        spec = self.rendered.container(deployment, name)
        startup = spec.probes["startupProbe"]["httpGet"]
        process = ServiceProcess(
            self._command(spec),
            env={},
            port=spec.ports.get("http", spec.ports["ops"]),
            ops_port=spec.ports[startup["port"]],
            health_path=startup["path"],
            log_dir=self.log_dir,
            name=f"chart-{name}",
            startup_timeout=60,
            stop_timeout=20,
        )
        self.started.append(process)
        process.start()
        return spec, process

    def close(self) -> None:
        for process in reversed(self.started):
            process.stop()


def probe_ok(spec: ContainerSpec, kind: str) -> bool:
    get = spec.probes[kind]["httpGet"]
    try:
        response = httpx.get(f"http://127.0.0.1:{spec.ports[get['port']]}{get['path']}", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


@pytest.fixture(scope="module")
def pods(
    image: UnpackedImage,
    kube: KubeControlPlane,
    installed: list[Manifest],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[ContainerSpec, ServiceProcess]]]:
    handle = Pods(image, kube, installed, tmp_path_factory.mktemp("chart-pods"))
    try:
        # The api pod's init container migrates first, as in a cluster.
        handle.run_init(f"{RELEASE}-shortlink-api", "migrate")
        handle.run_init(f"{RELEASE}-shortlink-operator", "migrate")
        running = {
            component: handle.start(f"{RELEASE}-shortlink-{component}", component)
            for component in ("api", "redirector", "operator")
        }
        for component, (spec, _) in running.items():
            wait_for(f"{component} ready", partial(probe_ok, spec, "readinessProbe"), 60)
        yield running
    finally:
        handle.close()


def test_every_deployment_of_the_defaults_is_covered(manifests: list[Manifest]) -> None:
    # The analytics worker is off by default (it needs Kafka and a ClickHouse server).
    assert {d["metadata"]["name"] for d in find(manifests, "Deployment")} == {
        f"{RELEASE}-shortlink-{c}" for c in ("api", "redirector", "operator")
    }


def test_a_link_created_through_the_api_is_served_by_the_redirector(
    pods: dict[str, tuple[ContainerSpec, ServiceProcess]],
) -> None:
    (api_spec, _), (redirector_spec, _) = pods["api"], pods["redirector"]
    for spec in (api_spec, redirector_spec):
        assert probe_ok(spec, "livenessProbe")
    created = httpx.post(
        f"http://127.0.0.1:{api_spec.ports['http']}/v1/urls",
        json={"original_url": "https://example.com/through-the-chart"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    short_url = created.json()["short_url"]
    redirector = f"http://127.0.0.1:{redirector_spec.ports['http']}"
    assert short_url.startswith(redirector + "/")  # config.baseUrl reached both
    response = httpx.get(short_url, timeout=10)
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/through-the-chart"


def test_the_operator_syncs_shortlinks_with_only_the_charts_rbac(
    kube: KubeControlPlane,
    pods: dict[str, tuple[ContainerSpec, ServiceProcess]],
    manifests: list[Manifest],
) -> None:
    redirector = f"http://127.0.0.1:{pods['redirector'][0].ports['http']}"
    cluster = Cluster(kube, LINKS_NAMESPACE)
    try:
        cluster.put_secret("sale-password", {"password": "correct horse battery"})
        cluster.create("open", {"code": "chart-open", "target": "https://example.com/open"})
        cluster.create(
            "locked",
            {
                "code": "chart-locked",
                "target": "https://example.com/locked",
                "passwordSecretRef": {"name": "sale-password", "key": "password"},
            },
        )
        cluster.wait_ready("open")
        cluster.wait_ready("locked")
        assert httpx.get(f"{redirector}/chart-open", timeout=10).status_code == 302
        assert httpx.get(f"{redirector}/chart-locked", timeout=10).status_code == 403
        cluster.patch_spec("open", {"target": "https://example.com/moved"})
        cluster.wait_ready("open", generation=2)
        cluster.delete("locked")
        wait_for("locked gone", lambda: cluster.get("locked") is None, 30)
        wait_for(
            "chart-locked no longer served",
            lambda: httpx.get(f"{redirector}/chart-locked", timeout=10).status_code == 404,
            30,
        )
    finally:
        cluster.close()


def test_the_operator_runs_postgresql_failover_with_the_charts_rbac(
    kube: KubeControlPlane,
    pods: dict[str, tuple[ContainerSpec, ServiceProcess]],
    pg_cluster: PostgresCluster,
) -> None:
    """A PostgresCluster over the harness's three real members: Healthy, its Services'
    EndpointSlices on the right members, then a switchover repoints them."""
    resource = ClusterResource(kube, DATABASES_NAMESPACE)
    try:
        resource.create(pg_cluster)
        resource.wait_phase("Healthy", "pg0", timeout=60)
        wait_for("rw endpoints", lambda: resource.endpoints("pg-rw") == ["pg0"], 30)
        # A planned switchover (the old primary stays fenced until it rejoins).
        resource.patch_spec({"switchover": {"to": "pg1"}})
        resource.wait("pg1 primary", lambda s: s.get("currentPrimary") == "pg1", 60)
        wait_for("rw repointed", lambda: resource.endpoints("pg-rw") == ["pg1"], 30)
    finally:
        resource.close()


def test_a_password_secret_where_none_may_be_read_is_reported_not_read(
    kube: KubeControlPlane, pods: dict[str, tuple[ContainerSpec, ServiceProcess]]
) -> None:
    """Every namespace is watched, but the chart grants secrets: get only where named
    (issue 19, finding 3): a ShortLink elsewhere says why it isn't synced."""
    kube.create_namespace(ELSEWHERE)
    cluster = Cluster(kube, ELSEWHERE)
    try:
        cluster.put_secret("sale-password", {"password": "correct horse battery"})
        cluster.create(
            "locked",
            {
                "code": "chart-elsewhere",
                "target": "https://example.com/elsewhere",
                "passwordSecretRef": {"name": "sale-password", "key": "password"},
            },
        )
        obj = cluster.wait_condition("locked", "Synced", "False", "SecretForbidden")
        synced = next(c for c in obj["status"]["conditions"] if c["type"] == "Synced")
        assert f"may not read Secrets in namespace {ELSEWHERE}" in synced["message"]
        assert "operator.passwordSecretNamespaces" in synced["message"]
    finally:
        cluster.close()


def test_the_operator_used_exactly_what_the_chart_grants(
    kube: KubeControlPlane,
    pods: dict[str, tuple[ContainerSpec, ServiceProcess]],
    manifests: list[Manifest],
) -> None:
    _, operator = pods["operator"]
    account = f"system:serviceaccount:{NAMESPACE}:{RELEASE}-shortlink-operator"
    # Renewals of the 3 s Lease happen every second; wait for one, then stop (release).
    wait_for(
        "a Lease renewal",
        lambda: ("update", "coordination.k8s.io", "leases") in used(kube, account),
        15,
    )
    operator.stop()
    calls = used(kube, account)
    denied = {
        (e["verb"], e["objectRef"]["resource"], e["objectRef"].get("namespace"))
        for e in kube.audit_events()
        if e["user"]["username"] == account and e["responseStatus"]["code"] == 403
    }
    # Only the read the chart doesn't grant, on purpose (the test above).
    assert denied <= {("get", "secrets", ELSEWHERE)}
    rules = granted_rules(manifests, f"{RELEASE}-shortlink-operator")
    assert calls == rules


def used(kube: KubeControlPlane, account: str) -> set[tuple[str, str, str]]:
    """(verb, group, resource[/subresource]) of every request the account made."""
    calls = set()
    for event in kube.audit_events():
        ref = event.get("objectRef")
        if event["user"]["username"] != account or ref is None:
            continue
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        calls.add((event["verb"], ref.get("apiGroup", ""), resource))
    return calls
