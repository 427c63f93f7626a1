"""The operator against a real kube-apiserver + etcd, PostgreSQL and Redis, with the real
`shortlink api` and `shortlink redirector` processes serving what it writes.

The stack is shared by the module; each test gets its own namespace and its own
operator process (watching only that namespace, with its own Lease), so tests
can't see each other's ShortLinks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.kube import KubeControlPlane
from tests.harness.pgc import ClusterResource, cluster_operator
from tests.harness.shortlinks import CRDS, Cluster, operator_process, operator_role
from tests.harness.stack import API_KEY, start_stack
from tests.support.waiting import wait_for

_numbers = itertools.count(1)


class Stack:
    def __init__(
        self, database_url: str, redis_url: str, api: ServiceProcess, redirector: ServiceProcess
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.api = api
        self.redirector = redirector

    @property
    def base_url(self) -> str:
        return self.redirector.base_url


@pytest.fixture(scope="session")
def shortlink_crds(kube_control_plane: KubeControlPlane) -> KubeControlPlane:
    kube_control_plane.apply_crds(CRDS)
    return kube_control_plane


@pytest.fixture(scope="module")
def stack(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("operator-stack")
    api, redirector, database_url = start_stack(postgres_server, redis_server, log_dir)
    try:
        yield Stack(database_url, redis_server.url, api, redirector)
    finally:
        redirector.stop()
        api.stop()


@pytest.fixture
def cluster(shortlink_crds: KubeControlPlane) -> Iterator[Cluster]:
    namespace = shortlink_crds.create_namespace(f"op-{next(_numbers)}")
    handle = Cluster(shortlink_crds, namespace)
    yield handle
    handle.close()


OperatorFactory = Callable[..., ServiceProcess]


@pytest.fixture
def start_operator(
    shortlink_crds: KubeControlPlane, stack: Stack, cluster: Cluster, tmp_path: Path
) -> Iterator[OperatorFactory]:
    """Start `shortlink operator` for this test's namespace; stopped after the test."""
    started: list[ServiceProcess] = []

    def start(name: str = "operator", *, leader: bool = True, **env: str) -> ServiceProcess:
        redis_url = env.pop("REDIS_URL", stack.redis_url)
        process = operator_process(
            shortlink_crds,
            tmp_path,
            database_url=stack.database_url,
            redis_url=redis_url,
            base_url=stack.base_url,
            namespace=cluster.namespace,
            name=f"{cluster.namespace}-{name}",
            **env,
        )
        started.append(process)
        process.start()
        if leader:
            wait_for(f"{name} to lead", lambda: role(process) == "leader")
        return process

    yield start
    for process in started:
        process.stop()


role = operator_role


@pytest.fixture
def visitor(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.redirector.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=stack.api.base_url, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture
def pgc(shortlink_crds: KubeControlPlane) -> Iterator[ClusterResource]:
    """A PostgresCluster resource (not yet created) in a namespace of its own."""
    namespace = shortlink_crds.create_namespace(f"pgc-{next(_numbers)}")
    resource = ClusterResource(shortlink_crds, namespace)
    yield resource
    resource.close()


@pytest.fixture
def start_cluster_operator(
    shortlink_crds: KubeControlPlane,
    pgc: ClusterResource,
    migrated_template: str,
    redis_server: RedisServer,
    tmp_path: Path,
) -> Iterator[OperatorFactory]:
    """Start `shortlink operator` for the PostgresCluster's namespace (``env`` added to
    its environment); stopped after the test."""
    started: list[ServiceProcess] = []

    def start(name: str = "operator", *, leader: bool = True, **env: str) -> ServiceProcess:
        process = cluster_operator(
            shortlink_crds,
            tmp_path,
            pgc.namespace,
            f"{pgc.namespace}-{name}",
            database_url=migrated_template,
            redis_url=redis_server.url,
            **env,
        )
        started.append(process)
        process.start()
        if leader:
            wait_for(f"{name} to lead", lambda: role(process) == "leader", 20)
        return process

    yield start
    for process in started:
        process.stop()
