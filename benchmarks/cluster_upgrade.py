"""cluster_upgrade: `helm upgrade` to a second build of the project image and `helm
rollback` on the one-node cluster, under traffic through the Services (issue 18,
proof 4).

    .venv/bin/python -m benchmarks cluster_upgrade [--rounds N]

Runs only when named (about 5 minutes a round with a cluster up: the install ~45 s,
each roll 1-2.5 min). It uses the cluster `python -m tests.harness.cluster up` left
running, or brings one up (and down after). The release and the roll are the e2e
test's (tests/harness/cluster/upgrade.py, shared with
tests/e2e/cluster/test_chart_upgrade.py): PostgreSQL, Redis and Kafka on the host,
2 api, 2 redirector and 1 operator pods, the second build the first plus one layer.

Load, from start to end: CREATE_CLIENTS creating links through the api Service
without pause, REDIRECT_CLIENTS following warm links through the redirector Service.
The periods, `--rounds` times: quiet, `helm upgrade` to the second build, quiet,
`helm rollback` to the first. A roll lasts from the helm command until every pod
serves on its build with no other left, plus STEADY_S (the old pods' drain); each
quiet period QUIET_S, the reference, with the same load, of the roll after it.

Figures: per roll (cluster_failover_figures' event_figures and cluster_upgrade_figures'
roll_figures) failed creates and warm redirects, acknowledged creates lost or doubled
(against the rows at the end), p50/p99 of creates and warm redirects during the roll
and its quiet period, the longest gap between acknowledged creates, the roll's
duration and the fewest Ready pods against the PDB; for the run, the clicks served
(302s on the warm links) against those Kafka received.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from benchmarks.cluster_failover import cluster_node
from benchmarks.cluster_failover_figures import Period, event_figures, run_figures, summary
from benchmarks.cluster_upgrade_figures import meets_target, roll_figures
from benchmarks.host import cpu_affinity, every_cpu, log
from tests.harness.cluster import Cluster, upgrade
from tests.harness.cluster import in_chart_postgres as chart_pg
from tests.harness.cluster.host_services import host_services
from tests.harness.cluster.upgrade import Build, Roll
from tests.harness.create_load import outcome

RELEASE = chart_pg.Release("cluster-upgrade", "rolled")
PREFIX = "https://cluster-upgrade.test/"
QUIET_S = 15.0


def cluster_upgrade_line(work_dir: Path, rounds: int, busy_percent: float | None) -> dict[str, Any]:
    (work_dir / "host").mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as running, cpu_affinity(every_cpu()):
        cluster = running.enter_context(cluster_node())
        builds = upgrade.builds(cluster)
        urls = running.enter_context(host_services(work_dir / "host", "cluster_upgrade"))
        running.enter_context(upgrade.crds_adopted(cluster, RELEASE))
        log(f"  helm install ({upgrade.REPLICAS}) on {builds[0].image}")
        services = running.enter_context(
            chart_pg.installed(
                cluster, RELEASE, work_dir / "values.json",
                lambda _: upgrade.chart_values(urls, builds[0].tag),
            )
        )  # fmt: skip
        warm = chart_pg.warm_links(RELEASE, services)
        with cluster.api_client() as api:
            desired_healthy = upgrade.desired_healthy(api, RELEASE)
        periods, rolls, traffic = asyncio.run(_run(cluster, services, warm, builds, rounds))
        rows = upgrade.stored(urls["database_from_host"], PREFIX)
        # warm_links followed each link once before the load.
        served = len(warm) + traffic.warm.total - len(traffic.warm.failures)
        received = upgrade.clicks_received(urls["kafka_from_host"], warm, served)
    answers = traffic.answers
    result = outcome(answers, rows)
    pairs = zip(periods[::2], periods[1::2], strict=True)  # (quiet, roll)
    events = [
        {
            **event_figures(quiet, event, answers, rows, result, traffic.warm, traffic.cold),
            "roll": roll_figures(roll, desired_healthy),
        }
        for (quiet, event), roll in zip(pairs, rolls, strict=True)
    ]
    return {
        "scenario": "cluster_upgrade",
        "summary": summary(events, meets_target),
        "events": events,
        "rounds": rounds,
        **run_figures(result, answers),
        "warm_redirects": traffic.warm.total,
        "clicks_served": served,
        "clicks_in_kafka": received,
        "builds": [build.image for build in builds],
        "replicas": upgrade.REPLICAS,
        "create_clients": chart_pg.CREATE_CLIENTS,
        "warm_redirect_clients": chart_pg.REDIRECT_CLIENTS,
        "quiet_s": QUIET_S,
        "host_busy_pct_before": busy_percent,
        "target": (
            "each roll: 0 failed creates or warm redirects (connection errors, 5xx), 0 "
            "acknowledged creates lost or doubled, the redirector never below its PDB's "
            "desiredHealthy nor the api below 1 Ready pod; every click served in Kafka"
        ),
        "meets_target": all(meets_target(event) for event in events) and received == served,
    }


async def _run(
    cluster: Cluster,
    services: dict[str, str],
    warm: dict[str, str],
    builds: tuple[Build, Build],
    rounds: int,
) -> tuple[list[Period], list[Roll], chart_pg.Traffic]:
    first, second = builds
    steps = [
        ("helm upgrade", upgrade.upgrade_command(RELEASE, second), second),
        ("helm rollback", upgrade.rollback_command(RELEASE), first),
    ]
    periods: list[Period] = []
    rolls: list[Roll] = []
    with cluster.api_client() as api:
        async with chart_pg.traffic(api, RELEASE, services, PREFIX, warm) as running:
            for name, command, build in steps * rounds:
                started = time.time()
                await asyncio.sleep(QUIET_S)
                periods.append(Period("quiet", started, time.time()))
                log(f"  {name} to {build.image}")
                started = time.time()
                roll = await upgrade.roll(cluster, RELEASE, command, build)
                periods.append(Period(name, started, time.time(), build.image))
                rolls.append(roll)
                log(f"    every pod on it in {roll.took:.1f} s, fewest Ready {roll.fewest_ready}")
    return periods, rolls, running
