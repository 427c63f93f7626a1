"""The cluster_failover benchmark's figures (pure: fake records in)."""

from __future__ import annotations

from benchmarks.cluster_failover_figures import Period, event_figures, meets_target, summary
from tests.harness.cluster.in_chart_postgres import Redirects
from tests.harness.create_load import CreateAnswer, StoredLink, outcome

QUIET = Period("quiet", 0.0, 10.0)
EVENT = Period("primary pod deleted", 10.0, 20.0, "pg-0 -> pg-1")


def answer(n: int, status: int, sent: float, answered: float) -> CreateAnswer:
    body = {"short_code": f"c{n}"} if status == 201 else {"error": "DATABASE_UNAVAILABLE"}
    return CreateAnswer(f"https://t/{n}", status, body, sent, answered)


def row(n: int, code: str | None = None) -> StoredLink:
    return StoredLink(f"https://t/{n}", code or f"c{n}", 0.0)


# Quiet: #1, #2. The event: #3 acknowledged then 6 s without one (#4 failed), #5
# acknowledged but lost, #6 stored twice.
ANSWERS = [
    answer(1, 201, 1.0, 1.01),
    answer(2, 201, 5.0, 5.02),
    answer(3, 201, 10.5, 10.51),
    answer(4, 503, 11.0, 16.0),
    answer(5, 201, 16.4, 16.51),
    answer(6, 201, 16.6, 16.7),
]
ROWS = [row(1), row(2), row(3), row(6), row(6, "c6b")]
WARM = Redirects([(2.0, 1.0, None), (12.0, 900.0, "x: 503"), (13.0, 2.0, None)])
COLD = Redirects([(3.0, 4.0, None), (14.0, 2100.0, None)])


def figures(event: Period = EVENT) -> dict[str, object]:
    return event_figures(QUIET, event, ANSWERS, ROWS, outcome(ANSWERS, ROWS), WARM, COLD)


def test_the_event_beside_its_quiet_reference() -> None:
    found = figures()
    assert found["rto_s"] == 6.0  # 10.51 -> 16.51
    assert found["acked_writes_lost"] == 1
    assert found["duplicate_rows"] == 1
    assert found["during"] == {
        "seconds": 10.0,
        "creates": 4,
        "failed_creates": 1,
        "create_p50_ms": 100.0,  # of 10, 100, 110, 5000 ms
        "create_p99_ms": 5000.0,
        "warm_redirects": 2,
        "failed_warm_redirects": 1,
        "warm_redirect_p50_ms": 2.0,
        "warm_redirect_p99_ms": 900.0,
        "cold_redirects": 1,
        "failed_cold_redirects": 0,
        "cold_redirect_p50_ms": 2100.0,
        "cold_redirect_p99_ms": 2100.0,
    }
    assert found["quiet_reference"]["creates"] == 2
    assert found["quiet_reference"]["failed_warm_redirects"] == 0
    assert found["redirect_failures"] == ["x: 503"]
    assert not meets_target(found)


def test_a_standby_event_is_judged_by_its_redirects_only() -> None:
    standby = Period("standby pod deleted", 10.0, 20.0)
    assert not meets_target(figures(standby))  # one warm redirect failed
    clean = Period("standby pod deleted", 13.5, 20.0)
    assert meets_target(figures(clean))  # lost creates are not its figure


def test_the_summary_takes_each_kind_over_its_rounds() -> None:
    clean = figures(Period("standby pod deleted", 13.5, 20.0))
    found = summary([figures(), figures(), clean])
    assert found["primary pod deleted"]["rounds"] == 2
    assert found["primary pod deleted"]["rto_s"] == [6.0, 6.0]
    assert found["primary pod deleted"]["acked_writes_lost"] == 2
    assert found["primary pod deleted"]["failed_warm_redirects"] == 2
    assert found["primary pod deleted"]["cold_redirect_p99_ms_median"] == {
        "during": 2100.0,
        "quiet": 4.0,
    }
    assert found["standby pod deleted"]["meets_target"] is True
    assert found["primary pod deleted"]["meets_target"] is False
