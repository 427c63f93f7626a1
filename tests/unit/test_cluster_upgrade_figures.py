"""The cluster_upgrade benchmark's figures of a roll (pure: fake records in)."""

from __future__ import annotations

from typing import Any

from benchmarks.cluster_failover_figures import Period, event_figures, summary
from benchmarks.cluster_upgrade_figures import meets_target, roll_figures
from tests.harness.cluster.in_chart_postgres import Redirects
from tests.harness.cluster.upgrade import Roll
from tests.harness.create_load import CreateAnswer, StoredLink, outcome

QUIET = Period("quiet", 0.0, 10.0)
UPGRADE = Period("helm upgrade", 10.0, 80.0, "shortlink:1.0.0-next")
ROLLBACK = Period("helm rollback", 90.0, 150.0, "shortlink:1.0.0")
ROLL = Roll(took=67.04, helm_took=61.46, fewest_ready={"api": 1, "redirector": 1}, samples=300)


def answer(n: int, status: int, sent: float, latency_s: float) -> CreateAnswer:
    body = {"short_code": f"c{n}"} if status == 201 else {"error": "DATABASE_UNAVAILABLE"}
    return CreateAnswer(f"https://t/{n}", status, body, sent, sent + latency_s)


# Quiet: #1 (20 ms). The upgrade: #2 (40 ms), #3 (30 ms), #4 (900 ms).
ANSWERS = [
    answer(1, 201, 1.0, 0.02),
    answer(2, 201, 11.0, 0.04),
    answer(3, 201, 12.0, 0.03),
    answer(4, 201, 13.0, 0.9),
]
ROWS = [StoredLink(f"https://t/{n}", f"c{n}", 0.0) for n in range(1, 5)]
WARM = Redirects([(2.0, 1.0, None), (20.0, 3.0, None), (21.0, 5.0, None), (22.0, 80.0, None)])


def roll_event(
    event: Period = UPGRADE, warm: Redirects = WARM, roll: Roll = ROLL, desired_healthy: int = 1
) -> dict[str, Any]:
    found = event_figures(QUIET, event, ANSWERS, ROWS, outcome(ANSWERS, ROWS), warm, Redirects())
    return {**found, "roll": roll_figures(roll, desired_healthy)}


def test_a_clean_roll_beside_its_quiet_reference() -> None:
    found = roll_event()
    assert found["event"] == "helm upgrade"
    assert found["during"]["creates"] == 3
    assert found["during"]["create_p50_ms"] == 40.0  # of 30, 40, 900 ms
    assert found["during"]["create_p99_ms"] == 900.0
    assert found["during"]["warm_redirect_p50_ms"] == 5.0  # of 3, 5, 80 ms
    assert found["quiet_reference"]["create_p50_ms"] == 20.0
    assert found["roll"] == {
        "roll_s": 67.0,
        "helm_wait_s": 61.5,
        "fewest_ready": {"api": 1, "redirector": 1},
        "ready_samples": 300,
        "redirector_pdb_desired_healthy": 1,
    }
    assert meets_target(found)


def test_a_failed_redirect_during_the_roll_misses_the_target() -> None:
    failed = Redirects([*WARM.sent, (30.0, 2.0, "c9: 503")])
    assert not meets_target(roll_event(warm=failed))
    # The same failure in the quiet period is not the roll's.
    before = Redirects([*WARM.sent, (5.0, 2.0, "c9: 503")])
    assert meets_target(roll_event(warm=before))


def test_a_roll_below_the_budget_misses_the_target() -> None:
    assert not meets_target(roll_event(desired_healthy=2))
    no_api = Roll(67.0, 61.0, {"api": 0, "redirector": 2}, 300)
    assert not meets_target(roll_event(roll=no_api))


def test_a_lost_acknowledged_create_misses_the_target() -> None:
    rows = ROWS[:-1]  # #4 acknowledged, never stored
    found = event_figures(QUIET, UPGRADE, ANSWERS, rows, outcome(ANSWERS, rows), WARM, Redirects())
    assert found["acked_writes_lost"] == 1
    assert not meets_target({**found, "roll": roll_figures(ROLL, 1)})


def test_the_summary_judges_rolls_by_their_own_target() -> None:
    rollback = roll_event(ROLLBACK)  # no create sent in it: a longest gap of inf
    found = summary([roll_event(), rollback, roll_event(desired_healthy=2)], meets_target)
    assert found["helm upgrade"]["rounds"] == 2
    assert found["helm upgrade"]["meets_target"] is False
    assert found["helm rollback"]["meets_target"] is True
    assert found["helm upgrade"]["create_p50_ms_median"] == {"during": 40.0, "quiet": 20.0}
