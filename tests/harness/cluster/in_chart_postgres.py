"""The chart installed with its in-chart PostgreSQL (`postgresql.enabled`, a primary and
two standbys) on the node, and traffic through its Services while members die.

Shared by the e2e test (tests/e2e/cluster/test_in_chart_postgresql.py) and the
`cluster_failover` benchmark: plain Python, no pytest. Redis is where the caller's URL
says (the host's, at the bridge's address, or a pod: redis_pod.py); Kafka is left out
(click events off).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.harness.cluster import images
from tests.harness.cluster.helm import CHART, helm, project_image_tag
from tests.harness.cluster.node import Cluster
from tests.harness.cluster.storage import local_volumes
from tests.harness.cluster.workloads import describe_pods, pod_exec, wait_for, wait_until_answering
from tests.harness.create_load import CreateAnswer, CreateLoad, StoredLink
from tests.harness.kube.binaries import REPO_ROOT
from tests.harness.processes import HarnessError
from tests.support.links import new_link_at

API_KEY = "sl_in_chart_pg_key_0123456789"
SECRET = "in-chart-pg-secret-0123456789-0123456789"
INSTANCES = 3
INSTALL_TIMEOUT = "420s"
# "2 suits a quiet network" (the CRD); the bound on the outage is
# failoverDelay + 3 s.
FAILOVER_DELAY = 2
RTO_TARGET = FAILOVER_DELAY + 3.0
PSQL = ["psql", "-X", "-A", "-t", "-U", "postgres", "-d", "shortlink", "-c"]
POSTGRES_CLUSTER = ("shortlink.io", "v1alpha1")


@dataclass(frozen=True)
class Release:
    """A release of the chart with postgresql.enabled, in a namespace of its own."""

    namespace: str
    name: str = "pg"

    @property
    def postgres(self) -> str:
        """The PostgresCluster's (and the StatefulSet's, the credentials') name."""
        return f"{self.name}-shortlink-postgresql"

    @property
    def members(self) -> list[str]:
        return [f"{self.postgres}-{number}" for number in range(INSTANCES)]

    @property
    def read_only_service(self) -> str:
        """The operator's Service of the streaming standbys (the chart names it)."""
        return f"{self.postgres}-ro"

    def service(self, services: dict[str, str], component: str) -> str:
        return services[f"{self.name}-shortlink-{component}"]


def import_postgres_image(cluster: Cluster) -> str:
    """scripts/build-postgres-image's layout imported into the node's containerd."""
    return images.build_and_import(cluster.ctr, images.postgres_layout, images.POSTGRES_NAME)


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


@contextlib.contextmanager
def crds_applied(cluster: Cluster) -> Iterator[None]:
    """The CRDs installed apart from the release, as a first `helm install` with
    postgresql.enabled needs (helm maps every object before it creates any, so the
    PostgresCluster can't come in the release that brings its CRD; charts/shortlink/
    README.md). Those another release kept are used as they are; those applied here
    are removed afterwards."""
    with cluster.api_client() as api:
        present = _crds_present(api)
    names = [] if present else cluster.kube.apply_crds(REPO_ROOT / "crds")
    try:
        yield
    finally:
        with cluster.api_client() as api:
            for name in names:
                client.ApiextensionsV1Api(api).delete_custom_resource_definition(name)


def chart_values(redis_url: str, postgres_image: str, storage_class: str) -> dict[str, Any]:
    registry, rest = postgres_image.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    return {
        "image": {"tag": project_image_tag(), "pullPolicy": "Never"},
        "config": {
            "baseUrl": "http://sho.rt.test",
            "rateLimit": "100000/minute",
            # A member being replaced may hold connects until they time out (a deleted
            # pod's address answers nothing): the next host in DATABASE_URL sooner.
            "extraEnv": [{"name": "SHORTLINK_DB_CONNECT_TIMEOUT", "value": "0.5"}],
        },
        "redis": {"url": redis_url},
        "secretKey": {"value": SECRET},
        "initialApiKey": {"value": API_KEY},
        "api": {"replicas": 1},
        "redirector": {"replicas": 1},
        "operator": {"replicas": 1},
        "crds": {"enabled": False},  # see crds_applied
        "postgresql": {
            "enabled": True,
            "instances": INSTANCES,
            "failoverDelay": FAILOVER_DELAY,
            "image": {"registry": registry, "repository": repository, "tag": tag},
            "persistence": {"storageClassName": storage_class, "size": "1Gi"},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
        },
    }


@contextlib.contextmanager
def installed(
    cluster: Cluster,
    release: Release,
    values_file: Path,
    values: Callable[[str], dict[str, Any]],
) -> Iterator[dict[str, str]]:
    """`helm install --wait` of `values(storage_class)`; the Services' addresses
    (name -> http://clusterIP:port). Uninstalled afterwards, its pods gone."""
    with cluster.api_client() as api, local_volumes(api, INSTANCES, "1Gi") as storage_class:
        values_file.write_text(json.dumps(values(storage_class)))
        started = time.monotonic()
        try:
            helm(
                cluster, "install", release.name, str(CHART), "--namespace", release.namespace,
                "--create-namespace", "--values", str(values_file), "--wait",
                "--timeout", INSTALL_TIMEOUT, timeout=600,
            )  # fmt: skip
            took = time.monotonic() - started
            print(f"helm install --wait of {release.name}: {took:.0f}s", file=sys.stderr)
            core = client.CoreV1Api(api)
            services = {
                service.metadata.name: f"http://{service.spec.cluster_ip}:{service.spec.ports[0].port}"
                for service in core.list_namespaced_service(release.namespace).items
                if service.spec.cluster_ip not in (None, "None")
            }
            wait_until_answering(release.service(services, c) for c in ("api", "redirector"))
            yield services
        except AssertionError as error:
            raise AssertionError(f"{error}\n{describe_pods(api, release.namespace)}") from None
        finally:
            _delete_postgres_cluster(api, release)
            helm(cluster, "uninstall", release.name, "--namespace", release.namespace, "--wait",
                 "--timeout", "180s", "--ignore-not-found")  # fmt: skip
            _wait_pods_gone(api, release)


def _delete_postgres_cluster(api: client.ApiClient, release: Release) -> None:
    """Delete the PostgresCluster while the operator still runs: its HA loop (a kopf
    daemon) holds a finalizer on it, which `helm uninstall` alone leaves stuck, the
    operator's Deployment going in the same breath (seen here: uninstall --wait hung)."""
    objects = client.CustomObjectsApi(api)
    where = (*POSTGRES_CLUSTER, release.namespace, "postgresclusters")
    try:
        objects.delete_namespaced_custom_object(*where, release.postgres)
    except ApiException as error:
        if error.status == 404:
            return
        raise
    wait_for(
        lambda: not objects.list_namespaced_custom_object(*where)["items"],
        timeout=60,
        what=f"PostgresCluster {release.postgres} to go",
    )


def _wait_pods_gone(api: client.ApiClient, release: Release) -> None:
    """The release's pods, not all of its namespace's (a test's Redis pod stays beside
    it until after: test_network_policies.py)."""
    core = client.CoreV1Api(api)
    selector = f"app.kubernetes.io/instance={release.name}"
    wait_for(
        lambda: not core.list_namespaced_pod(release.namespace, label_selector=selector).items,
        timeout=120,
        what=f"the pods of release {release.name} in {release.namespace} to go",
    )


def status(api: client.ApiClient, release: Release) -> dict[str, Any]:
    found: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(
        *POSTGRES_CLUSTER, release.namespace, "postgresclusters", release.postgres
    )
    return found.get("status") or {}


def writable(found: dict[str, Any]) -> bool:
    """The PostgresCluster Ready: a primary takes writes."""
    conditions = {c["type"]: c["status"] for c in found.get("conditions") or []}
    return conditions.get("Ready") == "True"


def streaming_standbys(api: client.ApiClient, release: Release, primary: str) -> list[str]:
    """The members streaming from `primary`, by name."""
    return pod_exec(
        api, release.namespace, primary,
        [*PSQL, "SELECT application_name FROM pg_stat_replication"
                " WHERE state = 'streaming' ORDER BY 1"],
    ).split()  # fmt: skip


def stored(api: client.ApiClient, release: Release, member: str, prefix: str) -> list[StoredLink]:
    rows = pod_exec(
        api, release.namespace, member,
        [*PSQL, "SELECT target, code, extract(epoch FROM created_at) FROM links"
                f" WHERE target LIKE '{prefix}%'"],
    )  # fmt: skip
    found = []
    for line in rows.splitlines():
        if line.strip():
            target, code, created_at = line.split("|")
            found.append(StoredLink(target, code, float(created_at)))
    return found


def read_write_service_reaches(api: client.ApiClient, release: Release, member: str) -> bool:
    """A session opened from the host through the read-write Service's ClusterIP
    (kube-proxy's rules) lands on `member`, writable."""
    core = client.CoreV1Api(api)
    service = core.read_namespaced_service(f"{release.postgres}-rw", release.namespace)
    found = core.read_namespaced_secret(release.postgres, release.namespace)
    password = base64.b64decode(found.data["superuser-password"]).decode()
    pod_ip = core.read_namespaced_pod(member, release.namespace).status.pod_ip
    conninfo = f"host={service.spec.cluster_ip} user=postgres dbname=postgres connect_timeout=3"
    result = subprocess.run(
        ["psql", "-X", "-A", "-t", "-c", "SELECT pg_is_in_recovery(), inet_server_addr()",
         conninfo],
        env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    return result.returncode == 0 and result.stdout.strip() == f"f|{pod_ip}"


def operator_log(api: client.ApiClient, release: Release) -> str:
    core = client.CoreV1Api(api)
    [operator] = core.list_namespaced_pod(
        release.namespace, label_selector="app.kubernetes.io/component=operator"
    ).items
    name = operator.metadata.name
    return str(core.read_namespaced_pod_log(name, release.namespace, container="operator"))


def diagnose(api: client.ApiClient, release: Release) -> str:
    """The PostgresCluster's status, the namespace's pods and events, the operator's log."""
    core = client.CoreV1Api(api)
    log = operator_log(api, release)
    members = []
    for member in release.members:
        for previous in (True, False):
            text = _member_log(core, release, member, previous=previous)
            members.append(f"{member} log{' (previous)' if previous else ''}:\n{text[-1500:]}")
    try:
        found = json.dumps(status(api, release), indent=1)
    except ApiException as error:  # a release without the in-chart PostgreSQL
        found = f"({error.reason})"
    return (
        f"status: {found}\n"
        f"{describe_pods(api, release.namespace)}\n"
        f"operator log:\n{log[-6000:]}\n" + "\n".join(members)
    )


def operator_events(
    api: client.ApiClient, release: Release, since: float, *, details: bool = False
) -> list[str]:
    """The events the operator's HA loop logged from a second before `since` (epoch
    seconds) on, as "+seconds reason" relative to it (with each one's message if
    ``details``): where a failover's seconds went."""
    log = operator_log(api, release)
    found = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("msg") != "postgres cluster event":
            continue
        moment = datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp()
        if moment >= since - 1:
            detail = f": {entry.get('detail')}" if details else ""
            found.append(f"{moment - since:+.2f}s {entry.get('reason')}{detail}")
    return found


def member_logs(api: client.ApiClient, release: Release, since: float) -> str:
    """Each member's PostgreSQL log from two seconds before `since` (epoch seconds) on,
    its last lines: what a standby did between a promotion and its next stream."""
    core = client.CoreV1Api(api)
    seconds = int(time.time() - since) + 2
    found = []
    for member in release.members:
        text = _member_log(core, release, member, since_seconds=seconds)
        found.append(f"{member}:\n{text[-5000:]}")
    return "\n".join(found)


def _member_log(core: client.CoreV1Api, release: Release, member: str, **options: Any) -> str:
    """A member's log, its passwords blanked (PostgreSQL logs each primary_conninfo it
    is given, password and all)."""
    try:
        text = str(core.read_namespaced_pod_log(member, release.namespace, **options))
    except ApiException as error:
        return f"({error.reason})"
    return re.sub(r"password='[^']*'", "password=<redacted>", text)


# --- The events ------------------------------------------------------------------


def kill_container(cluster: Cluster, release: Release, member: str) -> None:
    """SIGKILL to the member's container through containerd (ctr)."""
    with cluster.api_client() as api:
        pod = client.CoreV1Api(api).read_namespaced_pod(member, release.namespace)
    [container_status] = pod.status.container_statuses
    container = container_status.container_id.removeprefix("containerd://")
    subprocess.run(
        [*cluster.ctr, "tasks", "kill", "--signal", "SIGKILL", container],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def delete_pod(cluster: Cluster, release: Release, member: str) -> None:
    """The member's pod deleted, and gone: until then PostgreSQL may still answer the
    sessions it has (its shutdown waits for them, up to the grace period), so a
    create acknowledged meanwhile says nothing of a recovery."""
    with cluster.api_client() as api:
        core = client.CoreV1Api(api)
        uid = core.read_namespaced_pod(member, release.namespace).metadata.uid

        def gone() -> bool:
            try:
                return bool(core.read_namespaced_pod(member, release.namespace).metadata.uid != uid)
            except ApiException as error:
                if error.status == 404:
                    return True
                raise

        core.delete_namespaced_pod(member, release.namespace)
        wait_for(gone, timeout=120, what=f"the pod {member} gone")


# --- Traffic through the Services --------------------------------------------------

WARM_LINKS = 20
CREATE_CLIENTS = 4
REDIRECT_CLIENTS = 2
REDIRECT_PAUSE_S = 0.01
STEADY_S = 3.0


def warm_links(release: Release, services: dict[str, str]) -> dict[str, str]:
    """code -> target of links created and followed once (cached by the redirector)."""
    links = {}
    api, redirector = release.service(services, "api"), release.service(services, "redirector")
    for number in range(WARM_LINKS):
        target = f"https://warm.cluster.test/{number}"
        code = new_link_at(api, target, API_KEY)
        assert httpx.get(f"{redirector}/{code}", timeout=10).status_code == 302
        links[code] = target
    return links


@dataclass
class Redirects:
    """Every redirect sent: (sent_at, latency in ms, None or what failed)."""

    sent: list[tuple[float, float, str | None]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.sent)

    @property
    def failures(self) -> list[str]:
        return [failure for _, _, failure in self.sent if failure is not None]

    def between(self, start: float, end: float) -> Redirects:
        """Those sent from `start` to `end` (epoch seconds)."""
        return Redirects([entry for entry in self.sent if start <= entry[0] <= end])


async def follow(
    http: httpx.AsyncClient, links: Iterator[tuple[str, str]], stop: asyncio.Event, tally: Redirects
) -> None:
    """Follow `links` (code, target) one after another until `stop` or they run out;
    a redirect is good when it is a 302 to the target."""
    for code, target in links:
        if stop.is_set():
            return
        sent_at, started = time.time(), time.perf_counter()
        try:
            response = await http.get(f"/{code}")
            failed = (
                None
                if response.status_code == 302 and response.headers.get("location") == target
                else f"{code}: {response.status_code}"
            )
        except httpx.HTTPError as error:
            failed = f"{code}: {error!r}"
        tally.sent.append((sent_at, (time.perf_counter() - started) * 1000, failed))
        await asyncio.sleep(REDIRECT_PAUSE_S)


@dataclass
class Failover:
    old: str
    new: str
    event_at: float
    recovered_at: float  # seen Ready again, with a create acknowledged since the event
    answers: list[CreateAnswer]
    redirects: Redirects

    @property
    def rto(self) -> float:
        return longest_gap(self.answers, self.event_at)

    @property
    def outage(self) -> tuple[float, float] | None:
        return outage_window(self.answers, self.event_at)


def outage_window(
    answers: list[CreateAnswer], event_at: float, until: float | None = None
) -> tuple[float, float] | None:
    """The longest time without an acknowledged create from shortly before the event
    on (steady, the gaps are milliseconds: the longest is the outage): the last
    acknowledged before it and the first after (epoch seconds)."""
    times = sorted(
        a.answered_at
        for a in answers
        if a.acknowledged and event_at - 1 < a.answered_at <= (until or float("inf"))
    )
    return max(itertools.pairwise(times), key=lambda pair: pair[1] - pair[0], default=None)


def longest_gap(answers: list[CreateAnswer], event_at: float, until: float | None = None) -> float:
    window = outage_window(answers, event_at, until)
    return float("inf") if window is None else window[1] - window[0]


@dataclass
class Traffic:
    """What the load recorded: the creates' answers, the warm and cold redirects."""

    load: CreateLoad
    warm: Redirects = field(default_factory=Redirects)
    cold: Redirects = field(default_factory=Redirects)

    @property
    def answers(self) -> list[CreateAnswer]:
        return list(self.load.answers.values())


@contextlib.asynccontextmanager
async def traffic(
    api: client.ApiClient,
    release: Release,
    services: dict[str, str],
    prefix: str,
    warm: dict[str, str],
    cold: Sequence[tuple[str, str]] = (),
) -> AsyncIterator[Traffic]:
    """Until the block ends: CREATE_CLIENTS creating links (targets `prefix` + a
    number) through the api Service, REDIRECT_CLIENTS following the `warm` links round
    and round through the redirector Service, and one following each `cold` link once.
    A HarnessError in the block comes out as an AssertionError with a diagnosis."""
    running = Traffic(
        CreateLoad(
            release.service(services, "api"),
            clients=CREATE_CLIENTS,
            prefix=prefix,
            api_key=API_KEY,
        )
    )
    stop = asyncio.Event()
    async with httpx.AsyncClient(
        base_url=release.service(services, "redirector"), timeout=5
    ) as http:
        tasks = [
            asyncio.create_task(running.load.run(stop=stop)),
            asyncio.create_task(follow(http, iter(cold), stop, running.cold)),
            *(
                asyncio.create_task(follow(http, itertools.cycle(warm.items()), stop, running.warm))
                for _ in range(REDIRECT_CLIENTS)
            ),
        ]
        try:
            yield running
        except HarnessError as error:
            raise AssertionError(f"{error}\n{diagnose(api, release)}") from None
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)


def primary_back(
    api: client.ApiClient, release: Release, load: CreateLoad, done_at: float, old: str
) -> str:
    """After an event on the primary `old` (done by `done_at`): until the PostgresCluster
    is Ready (writable) on another member, with a create acknowledged since; its primary.
    The operator promotes a standby whether the old primary stays down for
    failoverDelay or comes back restarted (the CRD's contract)."""

    def recovered() -> str | None:
        found = status(api, release)
        served = any(a.acknowledged and a.sent_at > done_at for a in list(load.answers.values()))
        moved = found.get("currentPrimary") not in (None, old)
        return str(found["currentPrimary"]) if served and moved and writable(found) else None

    return wait_for(recovered, timeout=90, what="the cluster Ready and writable")


def under_load(
    cluster: Cluster,
    release: Release,
    services: dict[str, str],
    prefix: str,
    event: Callable[[str], None],
) -> Failover:
    """`traffic` with warm links; after STEADY_S, `event` on the primary's pod; load
    kept until `primary_back`, and STEADY_S after."""
    links = warm_links(release, services)
    with cluster.api_client() as api:
        old = status(api, release)["currentPrimary"]

        async def run() -> Failover:
            async with traffic(api, release, services, prefix, links) as running:
                await asyncio.sleep(STEADY_S)
                event_at = time.time()
                await asyncio.to_thread(event, old)
                new = await asyncio.to_thread(
                    primary_back, api, release, running.load, time.time(), old
                )
                recovered_at = time.time()
                await asyncio.sleep(STEADY_S)
            return Failover(old, new, event_at, recovered_at, running.answers, running.warm)

        return asyncio.run(run())
