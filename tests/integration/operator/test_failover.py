"""PostgreSQL failover end to end: a real primary + 2 streaming standbys (Debian
PostgreSQL), the real operator process, the real kube-apiserver. Issue 8, scenarios
1-8."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.harness import RedisServer, ServiceProcess, argocd
from tests.harness.create_load import CreateAnswer, CreateLoad, outcome, stored_links
from tests.harness.pg_cluster import DATABASE, PostgresCluster
from tests.harness.pgc import ClusterResource, Writer, create_table, rows_on
from tests.harness.postgres import SUPERUSER
from tests.harness.processes import resolve_executable
from tests.harness.stack import API_KEY, component_process
from tests.harness.stack import SECRET as STACK_SECRET
from tests.support.waiting import wait_for

_numbers = itertools.count(1)
OperatorFactory = Callable[..., ServiceProcess]


@pytest.fixture
def start_operator(start_cluster_operator: OperatorFactory) -> OperatorFactory:
    return start_cluster_operator


def metric(process: ServiceProcess, line_start: str) -> float | None:
    for line in httpx.get(f"{process.base_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def healthy(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start: OperatorFactory, **spec: object
) -> ServiceProcess:
    create_table(pg_cluster)
    pgc.create(pg_cluster, **spec)
    operator = start()
    pgc.wait_phase("Healthy", "pg0")
    return operator


def test_frozen_primary_is_replaced_and_never_acknowledges_a_write_again(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 2: SIGSTOP the primary -> failover -> SIGCONT: fenced, no late ack."""
    operator = healthy(pgc, pg_cluster, start_operator)
    assert pgc.endpoints("pg-rw") == ["pg0"]
    assert pgc.endpoints("pg-ro") == ["pg1", "pg2"]
    old = Writer(pg_cluster, members=["pg0"])  # a client that only knows the old primary
    with old:
        old.wait_acked(20)
        frozen_at = time.monotonic()
        pg_cluster.primary.freeze()
        status = pgc.wait("a failover", lambda s: "lastFailover" in s, 30)
        failed_over = time.monotonic() - frozen_at
        new = status["lastFailover"]["to"]
        assert new in {"pg1", "pg2"} and status["currentPrimary"] == new
        promoted_at = time.time()
        pg_cluster.primary.thaw()
        pgc.wait(
            "pg0 fenced",
            lambda s: any(m["name"] == "pg0" and m["fenced"] for m in s["members"]),
            10,
        )
        time.sleep(1)  # let the old client try again on the fenced primary
    writes = old.writes
    assert failed_over < 10, failed_over
    assert all(on == "pg0" for on in writes.on.values())
    late = [i for i, at in writes.acked_wall.items() if at > promoted_at]
    assert late == [], "the old primary acknowledged writes after the promotion"
    # Every write pg0 ever acknowledged is on the new primary: nothing lost.
    assert set(writes.acked) <= rows_on(pg_cluster, new)
    # The fenced primary refuses writes, even from a client that insists.
    with pytest.raises(Exception, match="read-only"):
        pg_cluster.member("pg0").execute(
            "INSERT INTO ha_writes (id) VALUES (-1)", database=DATABASE
        )
    assert pgc.member("pg0")["role"] == "fenced"
    assert pgc.endpoints("pg-rw") == [new]
    reasons = pgc.reasons()
    for reason in ("PrimaryFailing", "FailoverStarted", "Promoted", "FailoverCompleted", "Fenced"):
        assert reason in reasons, (reason, reasons)
    assert reasons.count("Promoted") == 1
    cluster = f'cluster="{pgc.namespace}/pg"'
    assert metric(operator, f"shortlink_postgres_failovers_total{{{cluster}}}") == 1
    assert metric(operator, f'shortlink_postgres_member_fenced{{{cluster},member="pg0"}}') == 1
    assert metric(operator, f'shortlink_postgres_member_primary{{{cluster},member="{new}"}}') == 1


def test_the_most_advanced_standby_is_promoted_not_the_lagging_one(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 3: pg1's WAL receiver stopped; pg2 (ahead, though later by name) wins."""
    healthy(pgc, pg_cluster, start_operator, durability="preferred")
    lagging = pg_cluster.member("pg1")
    lagging.stop_wal_receiver()
    with Writer(pg_cluster, members=["pg0"]) as writer:
        writer.wait_acked(50)
    pg2 = pg_cluster.member("pg2")
    pg_cluster.wait_caught_up(pg2)
    assert lagging.receive_lsn() != pg2.receive_lsn()
    pgc.wait(
        "pg1 not streaming",
        lambda s: not next(m for m in s["members"] if m["name"] == "pg1")["streaming"],
        10,
    )
    pg_cluster.primary.kill()
    status = pgc.wait("a failover", lambda s: "lastFailover" in s, 30)
    assert status["lastFailover"]["to"] == "pg2" and status["currentPrimary"] == "pg2"
    assert set(writer.writes.acked) <= rows_on(pg_cluster, "pg2")
    # The lagging standby is repointed to the new primary and catches up.
    pgc.wait(
        "pg1 streaming from pg2",
        lambda s: next(m for m in s["members"] if m["name"] == "pg1")["streaming"],
        20,
    )
    wait_for(
        "pg1 has every row", lambda: set(writer.writes.acked) <= rows_on(pg_cluster, "pg1"), 20
    )


def test_no_false_failover_on_one_slow_probe(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 4: a probe that times out, the primary otherwise fine (same server)."""
    healthy(pgc, pg_cluster, start_operator, failoverDelay=4)
    pg_cluster.primary.freeze()  # one probe (timeout 1 s) fails
    pgc.wait("it noticed", lambda s: "PrimaryFailing" in pgc.reasons(), 10)
    time.sleep(1)
    pg_cluster.primary.thaw()
    pgc.wait_phase("Healthy", "pg0", 20)
    time.sleep(4)  # longer than failoverDelay: had the clock not reset, it would fire now
    status = pgc.status()
    assert status["currentPrimary"] == "pg0" and status["timeline"] == 1
    assert "lastFailover" not in status and "failover" not in status
    assert "FailoverStarted" not in pgc.reasons()
    assert pg_cluster.member("pg1").in_recovery() and pg_cluster.member("pg2").in_recovery()


def test_a_primary_restarted_within_failover_delay_is_failed_over(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Back within failoverDelay, but on a new server (members[].startedAt changed): a
    crash nobody asked for, so a standby is promoted and the restarted one fenced
    (operator/README.md, "A restart is a failure")."""
    healthy(pgc, pg_cluster, start_operator, failoverDelay=4)
    before = {m["name"]: m.get("startedAt") for m in pgc.status()["members"]}
    assert before["pg0"], before
    pg_cluster.primary.stop()  # down for ~2 s of the 4 s failoverDelay, then back
    pgc.wait("it noticed", lambda s: "PrimaryFailing" in pgc.reasons(), 10)
    time.sleep(1)
    pg_cluster.primary.start()
    status = pgc.wait("a failover", lambda s: "lastFailover" in s, 20)
    assert status["lastFailover"]["from"] == "pg0"
    assert status["currentPrimary"] in {"pg1", "pg2"}
    assert {"PrimaryRestarted", "FailoverStarted", "Promoted"} <= set(pgc.reasons())
    members = {m["name"]: m for m in status["members"]}
    assert members["pg0"]["fenced"] and members["pg0"]["startedAt"] != before["pg0"]


def test_a_dead_standby_in_required_mode_leaves_writes_going(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 5: pg2 killed; commits still acknowledged (by pg1); Degraded everywhere."""
    operator = healthy(pgc, pg_cluster, start_operator)
    # Argo CD's health check reads what the operator wrote (gitops/argocd).
    assert argocd.health("PostgresCluster", pgc.get())[0] == "Healthy"
    pg_cluster.member("pg2").kill()
    status = pgc.wait_phase("Degraded", "pg0", 15)
    assert argocd.health("PostgresCluster", pgc.get())[0] == "Degraded"
    replicated = next(c for c in status["conditions"] if c["type"] == "Replicated")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (replicated["status"], replicated["reason"]) == ("False", "StandbyUnreachable")
    assert ready["status"] == "True"
    pgc.wait("pg2 out of the quorum", lambda s: s.get("synchronousStandbys") == ["pg1"], 10)
    assert pg_cluster.primary.execute("SHOW synchronous_standby_names") == 'ANY 1 ("pg1")'
    with Writer(pg_cluster) as writer:
        writer.wait_acked(30, timeout=10)
    assert set(writer.writes.on.values()) == {"pg0"}
    cluster = f'cluster="{pgc.namespace}/pg"'
    assert metric(operator, f'shortlink_postgres_cluster_phase{{{cluster},phase="Degraded"}}') == 1
    assert metric(operator, f'shortlink_postgres_member_up{{{cluster},member="pg2"}}') == 0
    assert metric(operator, f"shortlink_postgres_synchronous_standbys{{{cluster}}}") == 1
    # The spec's default maxLagOnFailover (1 MiB), which the lag alert compares against.
    assert metric(operator, f"shortlink_postgres_max_lag_on_failover_bytes{{{cluster}}}") == 2**20
    assert "lastFailover" not in pgc.status()


def test_planned_switchover_loses_nothing_and_pauses_writes_briefly(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 6: switchover to pg1 under writes: gap <= 5 s, every ack on pg1."""
    operator = healthy(pgc, pg_cluster, start_operator)
    with Writer(pg_cluster) as writer:
        writer.wait_acked(50)
        pgc.patch_spec({"switchover": {"to": "pg1"}})
        status = pgc.wait("the switchover", lambda s: "lastFailover" in s, 30)
        first_on_new = len(writer.writes.acked)
        writer.wait_acked(first_on_new + 50, timeout=15)
    assert status["lastFailover"]["kind"] == "switchover" and status["currentPrimary"] == "pg1"
    acks = sorted(writer.writes.acked.values())
    gap = max(b - a for a, b in itertools.pairwise(acks))
    assert gap <= 5, f"writes paused {gap:.1f}s"
    assert set(writer.writes.acked) <= rows_on(pg_cluster, "pg1")
    assert {"pg0", "pg1"} == set(writer.writes.on.values())
    assert pg_cluster.member("pg2").in_recovery() is not False or True
    assert pg_cluster.member("pg2").in_recovery()
    pgc.wait(
        "pg0 fenced", lambda s: next(m for m in s["members"] if m["name"] == "pg0")["fenced"], 10
    )
    assert pgc.endpoints("pg-rw") == ["pg1"]
    cluster = f'cluster="{pgc.namespace}/pg"'
    assert metric(operator, f"shortlink_postgres_switchovers_total{{{cluster}}}") == 1
    print(f"switchover: longest write pause {gap:.2f}s, {len(acks)} writes acknowledged")


def test_an_operator_killed_mid_failover_is_finished_by_the_next_without_a_second_promotion(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 7: kill -9 the operator the moment it records its failover intent."""
    first = healthy(pgc, pg_cluster, start_operator)
    pg_cluster.primary.freeze()
    pgc.wait("the failover intent", lambda s: "failover" in s, 20)
    assert first.process is not None
    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait()
    first.process = None
    # Whatever it left behind (intent only, or a promotion too), the next one finishes.
    start_operator("second")
    status = pgc.wait("the failover finished", lambda s: "lastFailover" in s, 40)
    new = status["lastFailover"]["to"]
    assert status.get("failovers") == 1
    writable = [m.name for m in pg_cluster.standbys if not m.in_recovery()]
    assert writable == [new], writable  # one promotion only
    assert pg_cluster.member(new).execute("SELECT timeline_id FROM pg_control_checkpoint()") in {
        "1",
        "2",
    }
    other = next(m for m in pg_cluster.standbys if m.name != new)
    pgc.wait(
        f"{other.name} streaming from {new}",
        lambda s: next(m for m in s["members"] if m["name"] == other.name)["streaming"],
        20,
    )
    assert pgc.reasons().count("Promoted") <= 1
    pg_cluster.primary.thaw()
    pgc.wait(
        "pg0 fenced", lambda s: next(m for m in s["members"] if m["name"] == "pg0")["fenced"], 10
    )


def rejoin(pg_cluster: PostgresCluster, member: str, primary: str) -> dict[str, str]:
    """`shortlink postgres-rejoin` as an init container would run it, on a stopped member."""
    target, source = pg_cluster.member(member), pg_cluster.member(primary)
    result = subprocess.run(
        [
            resolve_executable("shortlink"),
            *("postgres-rejoin", "--data-dir", str(target.data_dir), "--member", member),
            *("--primary-host", source.host, "--primary-port", str(source.port)),
            *("--user", SUPERUSER, "--bin-dir", str(target.bin_dir)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcome: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def test_the_old_primary_rejoins_as_a_standby_and_the_cluster_is_healthy_again(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Scenario 8: fenced old primary -> postgres-rejoin (pg_rewind) -> Healthy."""
    healthy(pgc, pg_cluster, start_operator)
    with Writer(pg_cluster) as writer:
        writer.wait_acked(30)
        pg_cluster.primary.freeze()
        status = pgc.wait("a failover", lambda s: "lastFailover" in s, 30)
        new = status["lastFailover"]["to"]
        pg_cluster.primary.thaw()
        pgc.wait("pg0 fenced", lambda s: pgc.member("pg0")["fenced"], 10)
        writer.wait_acked(len(writer.writes.acked) + 30, timeout=15)

        old = pg_cluster.member("pg0")
        old.stop()
        outcome = rejoin(pg_cluster, "pg0", new)
        assert outcome["method"] in {"rewind", "basebackup"}
        old.start()
        assert old.in_recovery()
        assert old.execute("SHOW default_transaction_read_only") == "off"
        status = pgc.wait_phase("Healthy", new, 30)
        writer.wait_acked(len(writer.writes.acked) + 30, timeout=15)
    members = {m["name"]: m for m in status["members"]}
    assert members["pg0"]["role"] == "standby" and not members["pg0"]["fenced"]
    assert members["pg0"]["streaming"]
    assert "Rejoined" in pgc.reasons()
    assert set(writer.writes.acked) <= rows_on(pg_cluster, new)
    wait_for(
        "pg0 to hold every acknowledged write",
        lambda: set(writer.writes.acked) <= rows_on(pg_cluster, "pg0"),
        20,
    )
    print(f"rejoin by {outcome['method']}")


def test_no_failover_while_no_operator_runs_then_it_acts_on_what_it_sees(
    pgc: ClusterResource, pg_cluster: PostgresCluster, start_operator: OperatorFactory
) -> None:
    """Operator down -> the dead primary stays dead; the next operator fails over."""
    first = healthy(pgc, pg_cluster, start_operator)
    first.stop()
    pg_cluster.primary.kill()
    time.sleep(4)  # twice failoverDelay
    assert all(m.in_recovery() for m in pg_cluster.standbys)
    assert "lastFailover" not in pgc.status()
    start_operator("second")
    status = pgc.wait("a failover", lambda s: "lastFailover" in s, 30)
    assert status["lastFailover"]["to"] in {"pg1", "pg2"}


def test_kill_9_under_api_creates_loses_doubles_and_fails_nothing(
    pgc: ClusterResource,
    pg_cluster: PostgresCluster,
    start_operator: OperatorFactory,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    """Scenario 1: the real API on the cluster's multi-host DSN, 8 clients making 1,000
    creates over HTTP, the primary killed -9 partway, the operator failing over."""
    healthy(pgc, pg_cluster, start_operator)
    env = {
        "DATABASE_URL": pg_cluster.dsn(),
        "REDIS_URL": redis_server.url,
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_BASE_URL": "http://127.0.0.1:9",
        "SHORTLINK_SECRET_KEY": STACK_SECRET,
        "SHORTLINK_INITIAL_API_KEY": API_KEY,
        "SHORTLINK_RATE_LIMIT": "100000/minute",
        "SHORTLINK_DB_CONNECT_TIMEOUT": "0.5",
        "SHORTLINK_DB_RETRY_WINDOW": "8",
    }
    api = component_process("api", env, tmp_path)
    api.start()
    try:
        answers = asyncio.run(create_under_kill(api.base_url, pg_cluster, total=1000, kill_at=300))
    finally:
        api.stop()
    status = pgc.wait("a failover", lambda s: "lastFailover" in s, 30)
    new = status["lastFailover"]["to"]
    unavailable = [a for a in answers if a.status == 503]
    others = {a.status for a in answers} - {201, 503}
    assert len(answers) == 1000 and others == set(), others
    assert all(a.body["error"] == "DATABASE_UNAVAILABLE" for a in unavailable)
    # The failover (~2-3 s) is well inside the 8 s retry window: no create gives up.
    assert unavailable == [], f"{len(unavailable)} creates answered 503"
    result = outcome(answers, stored_links(pg_cluster.member(new)))
    assert result.duplicate_rows == 0, "a create was stored twice"
    assert result.lost == {}, f"{len(result.lost)} acknowledged creates lost on {new}"
    assert status.get("failovers") == 1
    assert pgc.reasons().count("Promoted") == 1


async def create_under_kill(
    base_url: str, cluster: PostgresCluster, *, total: int, kill_at: int, clients: int = 8
) -> list[CreateAnswer]:
    """``clients`` concurrent clients create ``total`` links (each target unique); the
    primary is killed -9 once ``kill_at`` of them were answered."""
    load = CreateLoad(base_url, clients=clients)

    async def kill() -> None:
        await load.wait_answered(kill_at)
        await asyncio.to_thread(cluster.primary.kill)

    await asyncio.gather(load.run(total=total), kill())
    return list(load.answers.values())
