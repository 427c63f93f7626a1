"""cluster_failover: the in-chart PostgreSQL's members dying on the one-node cluster,
under traffic through the Services (issues 18 and 24).

    .venv/bin/python -m benchmarks cluster_failover

Runs only when named (about 5 minutes with a cluster up: the install ~40 s, the
load ~3 min). It uses the cluster `python -m tests.harness.cluster up` left
running, or brings one up (and down after). The chart goes in with
postgresql.enabled (3 members, failoverDelay 2) and the redirector reading misses
from the operator's read-only Service of the streaming standbys (databaseRead.url,
maxLag 5 s); Redis on the host.

Load, from start to end: CREATE_CLIENTS creating links through the api Service
without pause, and through the redirector Service REDIRECT_CLIENTS following warm
links (cached) and one following cold ones (each code once, Redis flushed after
they were made: a miss read from a standby, or the primary). The periods, in turn:
quiet then a standby's pod deleted (`--rounds` times, 3), quiet then the primary's
container killed -9 through the runtime, quiet then the primary's pod deleted (once
each), every standby streaming again before each event. An
event lasts until it is over (the standby streaming again; the cluster Ready with a
create acknowledged since the event was done), each quiet period QUIET_S: the
reference, with the same load, of the event after it.

Figures (`benchmarks/cluster_failover_figures.py`): per event RTO (the longest gap
between acknowledged creates), acknowledged creates lost or doubled (against the
rows on the primary at the end), failed creates and redirects, p99s during the event
and during its quiet period.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
from kubernetes import client

from benchmarks.cluster_failover_figures import (
    Period,
    event_figures,
    meets_target,
    run_figures,
    summary,
)
from benchmarks.host import cpu_affinity, every_cpu, log
from tests.harness import RedisServer
from tests.harness.cluster import Cluster, network
from tests.harness.cluster import in_chart_postgres as chart_pg
from tests.harness.cluster.node import STATE
from tests.harness.cluster.workloads import ready_pods, wait_for
from tests.harness.create_load import outcome

RELEASE = chart_pg.Release("cluster-failover")
PREFIX = "https://cluster-failover.test/"
COLD_TARGETS = "https://cold.cluster-failover.test/"
COLD_LINKS = 12_000  # more than the cold client follows in a run
BULK = 1000
QUIET_S = 15.0
SETTLE_S = 3.0  # after an event, before the next quiet period (not measured)
READ_MAX_LAG_S = 5


@contextlib.contextmanager
def cluster_node() -> Iterator[Cluster]:
    """The cluster left up by hand, or one of this run's own."""
    if STATE.exists():
        log("  using the cluster that is up")
        yield Cluster.from_state()
        return
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def cluster_failover_line(
    work_dir: Path, rounds: int, busy_percent: float | None
) -> dict[str, Any]:
    work_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as running, cpu_affinity(every_cpu()):
        cluster = running.enter_context(cluster_node())
        postgres_image = chart_pg.import_postgres_image(cluster)
        redis = running.enter_context(
            RedisServer(work_dir / "redis", bind=("127.0.0.1", network.BRIDGE_IP))
        )
        redis_url = f"redis://{network.BRIDGE_IP}:{redis.port}/0"

        def values(storage_class: str) -> dict[str, Any]:
            found = chart_pg.chart_values(redis_url, postgres_image, storage_class)
            # No password in it: the chart's SHORTLINK_DATABASE_PASSWORD goes into
            # DATABASE_READ_URL as into DATABASE_URL (core/shortlink/config.py).
            reader = f"{RELEASE.read_only_service}.{RELEASE.namespace}.svc"
            found["databaseRead"] = {
                "url": f"postgresql://shortlink@{reader}:5432/shortlink",
                "maxLag": READ_MAX_LAG_S,
            }
            return found

        running.enter_context(chart_pg.crds_applied(cluster))
        log("  helm install with postgresql.enabled (3 members) and databaseRead")
        services = running.enter_context(
            chart_pg.installed(cluster, RELEASE, work_dir / "values.json", values)
        )
        with cluster.api_client() as api:
            _wait_streaming(api, 2)
        cold = _cold_links(services)
        redis.flushall()  # the cold links' cache entries: their redirects read PostgreSQL
        warm = chart_pg.warm_links(RELEASE, services)
        log(f"  {len(cold)} cold links, {len(warm)} warm; load through the Services")
        periods, running = asyncio.run(_run(cluster, services, warm, cold, rounds))
        with cluster.api_client() as api:
            primary = str(chart_pg.status(api, RELEASE)["currentPrimary"])
            rows = chart_pg.stored(api, RELEASE, primary, PREFIX)
    answers = running.answers
    result = outcome(answers, rows)
    events = [
        event_figures(quiet, event, answers, rows, result, running.warm, running.cold)
        for quiet, event in itertools.pairwise(periods)
        if quiet.name == "quiet" and event.name != "quiet"
    ]
    return {
        "scenario": "cluster_failover",
        "summary": summary(events),
        "events": events,
        "rounds": rounds,
        **run_figures(result, answers),
        "warm_redirects": running.warm.total,
        "cold_redirects": running.cold.total,
        "failover_delay_s": chart_pg.FAILOVER_DELAY,
        "read_max_lag_s": READ_MAX_LAG_S,
        "create_clients": chart_pg.CREATE_CLIENTS,
        "warm_redirect_clients": chart_pg.REDIRECT_CLIENTS,
        "cold_redirect_clients": 1,
        "quiet_s": QUIET_S,
        "host_busy_pct_before": busy_percent,
        "target": (
            "a standby's death: 0 failed redirects (warm and cold); the primary's: 0 "
            f"acknowledged creates lost or doubled, 0 failed warm redirects, RTO <= "
            f"failoverDelay + 3 s ({chart_pg.RTO_TARGET:g})"
        ),
        "meets_target": all(meets_target(event) for event in events),
    }


def _wait_streaming(api: client.ApiClient, count: int) -> list[str]:
    def enough() -> list[str] | None:
        primary = chart_pg.status(api, RELEASE).get("currentPrimary")
        found = chart_pg.streaming_standbys(api, RELEASE, primary) if primary else []
        return found if len(found) >= count else None

    return wait_for(enough, timeout=120, what=f"{count} standbys streaming")


def _cold_links(services: dict[str, str]) -> list[tuple[str, str]]:
    """(code, target) of COLD_LINKS links made in bulk and never followed."""
    links: list[tuple[str, str]] = []
    headers = {"Authorization": f"Bearer {chart_pg.API_KEY}", "Content-Type": "application/json"}
    with httpx.Client(
        base_url=RELEASE.service(services, "api"), headers=headers, timeout=60
    ) as http:
        for batch in range(COLD_LINKS // BULK):
            urls = [{"original_url": f"{COLD_TARGETS}{batch}/{n}"} for n in range(BULK)]
            response = http.post("/v1/urls/bulk", content=orjson.dumps({"urls": urls}))
            response.raise_for_status()
            links += [
                (item["short_code"], item["original_url"])
                for item in response.json()["results"]
                if "short_code" in item
            ]
    return links


async def _run(
    cluster: Cluster,
    services: dict[str, str],
    warm: dict[str, str],
    cold: list[tuple[str, str]],
    rounds: int,
) -> tuple[list[Period], chart_pg.Traffic]:
    periods: list[Period] = []
    with cluster.api_client() as api:
        async with chart_pg.traffic(api, RELEASE, services, PREFIX, warm, cold) as running:
            # The standby's death `rounds` times, then the primary's once each. Each
            # event waits for every standby to stream first (the old primary rejoins
            # by itself): with a synchronous standby down a failover is held back by
            # design (it may hold the newest acknowledged commit). One run without the
            # wait, the killed primary still rejoining, measured an RTO of 20 s.
            events: list[tuple[str, Callable[[], tuple[float, str]]]] = [
                *[("standby pod deleted", partial(_standby_deleted, cluster, api))] * rounds,
                (
                    "primary killed -9",
                    partial(_on_primary, cluster, api, running, chart_pg.kill_container),
                ),
                (
                    "primary pod deleted",
                    partial(_on_primary, cluster, api, running, chart_pg.delete_pod),
                ),
            ]
            for name, event in events:
                await asyncio.to_thread(_wait_streaming, api, chart_pg.INSTANCES - 1)
                started = time.time()
                await asyncio.sleep(QUIET_S)
                periods.append(Period("quiet", started, time.time()))
                log(f"  {name}")
                started, note = await asyncio.to_thread(event)
                periods.append(Period(name, started, time.time(), note))
                log(f"    over in {time.time() - started:.1f} s ({note})")
                await asyncio.sleep(SETTLE_S)
    return periods, running


def _pod_uid(api: client.ApiClient, name: str) -> str | None:
    for pod in ready_pods(api, RELEASE.namespace):
        if pod.metadata.name == name:
            return str(pod.metadata.uid)
    return None


def _standby_deleted(cluster: Cluster, api: client.ApiClient) -> tuple[float, str]:
    """A streaming standby's pod deleted; over when its replacement streams again.
    (When it was deleted, which.)"""
    primary = str(chart_pg.status(api, RELEASE)["currentPrimary"])
    standby = chart_pg.streaming_standbys(api, RELEASE, primary)[0]
    uid = _pod_uid(api, standby)
    started = time.time()
    chart_pg.delete_pod(cluster, RELEASE, standby)

    def back() -> bool:
        replaced = _pod_uid(api, standby) not in (None, uid)
        return replaced and standby in chart_pg.streaming_standbys(api, RELEASE, primary)

    wait_for(back, timeout=120, what=f"{standby} replaced and streaming again")
    return started, standby


def _on_primary(
    cluster: Cluster,
    api: client.ApiClient,
    running: chart_pg.Traffic,
    event: Callable[[Cluster, chart_pg.Release, str], None],
) -> tuple[float, str]:
    """`event` on the primary; over when `primary_back` says so. (When, old -> new primary.)"""
    old = str(chart_pg.status(api, RELEASE)["currentPrimary"])
    started = time.time()
    event(cluster, RELEASE, old)
    new = chart_pg.primary_back(api, RELEASE, running.load, time.time(), old)
    return started, f"{old} -> {new}"
