"""failover: kill -9 the PostgreSQL primary under a steady create load and measure
the outage (issue 8).

    .venv/bin/python -m benchmarks failover --failover-delay 2
    .venv/bin/python -m benchmarks failover            # failoverDelay 10, the default

Runs only when named (about a minute, and it kills processes). It starts a
primary + 2 streaming standbys (`tests/harness/pg_cluster.py`, migrated), a
kube-apiserver with the CRDs, the real operator (with a PostgreSQL and Redis of
its own) watching a `PostgresCluster` at the CRD's default probing and the given
`failoverDelay`, and the real API and redirector on the cluster's multi-host DSN.
Then 8 clients create links through the API without pause (`CreateLoad`), while
4 others follow links cached before the kill through the redirector; after
STEADY_S the primary is killed -9, and the load goes on until creates are
acknowledged on the promoted primary for AFTER_S more.

Figures (`benchmarks/failover_figures.py`): detection and promotion from the
status's lastFailover stamps; RTO from the rows' created_at on the new primary
(newest acknowledged create committed on the old primary -> first on the new);
every 201 checked against those rows (lost, doubled).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.failover_figures import Redirects, failover_figures, rto_target
from benchmarks.host import cpu_affinity, every_cpu, log
from benchmarks.stack import migrate
from tests.harness import ClusterTemplate, PostgresCluster, PostgresServer, RedisServer
from tests.harness.create_load import CreateAnswer, CreateLoad, stored_links
from tests.harness.kube import KubeControlPlane, ensure_kube_binaries
from tests.harness.pg_cluster import DATABASE
from tests.harness.pgc import ClusterResource, cluster_operator
from tests.harness.processes import ServiceProcess
from tests.harness.shortlinks import CRDS, operator_role
from tests.harness.stack import API_KEY, SECRET, component_process
from tests.support.waiting import until, wait_for

CLIENTS = 8
REDIRECT_CLIENTS = 4
REDIRECT_PAUSE_S = 0.01  # per redirect client: the hammer must not starve the failover of CPU
WARM_LINKS = 20
WARM_TARGETS = "https://warm.failover.test/"
STEADY_S = 5.0  # load before the kill
AFTER_S = 3.0  # load on the new primary before stopping
# Each retry's pause (SHORTLINK_DB_RETRY_WINDOW) must outlast the failover.
RETRY_WINDOW_MARGIN_S = 10.0
NAMESPACE = "failover"


@dataclass(frozen=True)
class Rig:
    cluster: PostgresCluster
    resource: ClusterResource
    api: ServiceProcess
    redirector: ServiceProcess


def failover_line(
    work_dir: Path, failover_delay: float, busy_percent: float | None
) -> dict[str, Any]:
    retry_window = failover_delay + RETRY_WINDOW_MARGIN_S
    with _rig(work_dir, failover_delay, retry_window) as rig:
        warm = _warm_links(rig)
        log(f"  {len(warm)} links warm; {CLIENTS} clients creating for {STEADY_S:g} s")
        answers, (killed_at, dead_at), redirects = asyncio.run(
            _run(rig, warm, failover_delay, retry_window)
        )
        status = rig.resource.status()
        last = status["lastFailover"]
        stored = stored_links(rig.cluster.member(last["to"]))
    figures = failover_figures(
        failover_delay=failover_delay,
        answers=answers,
        stored=stored,
        killed_at=killed_at,
        dead_at=dead_at,
        last_failover=last,
        redirects=redirects,
    )
    return {
        "scenario": "failover",
        **figures,
        "failovers": status.get("failovers"),
        "clients": CLIENTS,
        "redirect_clients": REDIRECT_CLIENTS,
        "probe_interval_s": "CRD default",
        "retry_window_s": retry_window,
        "db_connect_timeout_s": 0.5,
        "host_busy_pct_before": busy_percent,
        "target": (
            f"rto_s <= failoverDelay + 3 s ({rto_target(failover_delay):g}), no acknowledged "
            "create lost or doubled, every create 201, no warm redirect failed"
        ),
    }


@contextlib.contextmanager
def _rig(work_dir: Path, failover_delay: float, retry_window: float) -> Iterator[Rig]:
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    binaries = ensure_kube_binaries()
    with contextlib.ExitStack() as running, cpu_affinity(every_cpu()):
        control_plane = running.enter_context(
            KubeControlPlane(work_dir / "kube", binaries=binaries)
        )
        control_plane.apply_crds(CRDS)
        namespace = control_plane.create_namespace(NAMESPACE)
        # The operator's ShortLink side needs a database and Redis: not the cluster's.
        own = running.enter_context(PostgresServer(work_dir / "operator-postgres"))
        operator_db = own.create_database("shortlink_operator")
        migrate(operator_db, log_dir)
        redis = running.enter_context(RedisServer(work_dir / "redis"))

        def prepare(server: PostgresServer) -> None:
            migrate(server.dsn_for(DATABASE), log_dir)

        template = ClusterTemplate(work_dir / "pgc" / "template", prepare).build()
        cluster = running.enter_context(PostgresCluster(work_dir / "pgc" / "cluster", template))
        resource = ClusterResource(control_plane, namespace)
        running.callback(resource.close)
        # The CRD's own probing (interval 1 s, timeout 2 s), not the tests' fast one.
        resource.create(cluster, defaults={}, failoverDelay=failover_delay)
        operator = running.enter_context(
            cluster_operator(
                control_plane,
                log_dir,
                namespace,
                "failover-operator",
                database_url=operator_db,
                redis_url=redis.url,
            )
        )
        wait_for("the operator to lead", lambda: operator_role(operator) == "leader", 60)
        resource.wait_phase("Healthy", "pg0", 60)
        log(f"  cluster Healthy: primary pg0, failoverDelay {failover_delay:g} s")
        env = {
            "DATABASE_URL": cluster.dsn(),
            "REDIS_URL": redis.url,
            "SHORTLINK_HOST": "127.0.0.1",
            "SHORTLINK_BASE_URL": "http://127.0.0.1:9",
            "SHORTLINK_SECRET_KEY": SECRET,
            "SHORTLINK_INITIAL_API_KEY": API_KEY,
            "SHORTLINK_RATE_LIMIT": "100000000/minute",
            "SHORTLINK_LOG_LEVEL": "WARNING",
            "SHORTLINK_DB_CONNECT_TIMEOUT": "0.5",
            "SHORTLINK_DB_RETRY_WINDOW": f"{retry_window:g}",
        }
        api = running.enter_context(component_process("api", env, log_dir))
        redirector = running.enter_context(component_process("redirector", env, log_dir))
        yield Rig(cluster, resource, api, redirector)


def _warm_links(rig: Rig) -> dict[str, str]:
    """code -> target of links created and followed once (cached) before the kill."""
    links = {}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        httpx.Client(base_url=rig.api.base_url, headers=headers, timeout=10) as api,
        httpx.Client(base_url=rig.redirector.base_url, timeout=10) as visitor,
    ):
        for number in range(WARM_LINKS):
            target = f"{WARM_TARGETS}{number}"
            created = api.post("/v1/urls", json={"original_url": target})
            created.raise_for_status()
            code = str(created.json()["short_code"])
            followed = visitor.get(f"/{code}")
            if followed.status_code != 302 or followed.headers.get("location") != target:
                raise RuntimeError(f"warming /{code}: {followed.status_code} {followed.text}")
            links[code] = target
    return links


async def _run(
    rig: Rig, warm: dict[str, str], failover_delay: float, retry_window: float
) -> tuple[list[CreateAnswer], tuple[float, float], Redirects]:
    load = CreateLoad(rig.api.base_url, clients=CLIENTS)
    stop = asyncio.Event()
    tally: dict[str, Any] = {"total": 0, "failures": [], "max_ms": 0.0}
    running = asyncio.gather(
        load.run(stop=stop),
        *(_follow(rig.redirector.base_url, warm, stop, tally) for _ in range(REDIRECT_CLIENTS)),
    )
    try:
        await asyncio.sleep(STEADY_S)
        killed_at = time.time()
        await asyncio.to_thread(rig.cluster.primary.kill)
        dead_at = time.time()
        log(f"  pg0 killed -9 after {len(load.answers)} creates; waiting for the failover")
        status = await asyncio.to_thread(
            rig.resource.wait, "a failover", lambda s: "lastFailover" in s, failover_delay + 60
        )
        log(f"  {status['lastFailover']['to']} promoted; waiting for creates on it")
        await until(
            lambda: any(a.acknowledged and a.sent_at > killed_at for a in load.answers.values()),
            retry_window + 30,
        )
        await asyncio.sleep(AFTER_S)
    finally:
        stop.set()
        await running
    redirects = Redirects(
        tally["total"], len(tally["failures"]), tally["failures"], round(tally["max_ms"], 1)
    )
    return list(load.answers.values()), (killed_at, dead_at), redirects


async def _follow(
    base_url: str, warm: dict[str, str], stop: asyncio.Event, tally: dict[str, Any]
) -> None:
    """Follow the warm links round and round until ``stop``; tally every failure."""
    codes = list(warm)
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as visitor:
        number = 0
        while not stop.is_set():
            code = codes[number % len(codes)]
            number += 1
            started = time.perf_counter()
            try:
                response = await visitor.get(f"/{code}")
                problem = (
                    None
                    if response.status_code == 302
                    and response.headers.get("location") == warm[code]
                    else f"/{code}: {response.status_code}"
                )
            except httpx.HTTPError as exc:
                problem = f"/{code}: {exc!r}"
            tally["max_ms"] = max(tally["max_ms"], (time.perf_counter() - started) * 1000)
            tally["total"] += 1
            if problem is not None:
                tally["failures"].append(problem)
            await asyncio.sleep(REDIRECT_PAUSE_S)
