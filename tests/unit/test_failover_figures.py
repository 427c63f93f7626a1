"""The failover benchmark's figures and the create bookkeeping (pure: fake records in)."""

from __future__ import annotations

import pytest

from benchmarks.failover_figures import Redirects, failover_figures, instant, recovery
from tests.harness.create_load import CreateAnswer, StoredLink, outcome

KILL = 1_000.0


def answer(n: int, status: int, sent: float, answered: float) -> CreateAnswer:
    body = {"short_code": f"c{n}"} if status == 201 else {"error": "DATABASE_UNAVAILABLE"}
    return CreateAnswer(f"https://t/{n}", status, body, sent, answered)


def row(n: int, created_at: float, code: str | None = None) -> StoredLink:
    return StoredLink(f"https://t/{n}", code or f"c{n}", created_at)


# Steady creates until the kill; #3 was sent just before it and retried onto the new
# primary (committed at KILL + 4.0); #4 was sent during the outage.
ANSWERS = [
    answer(1, 201, KILL - 2.0, KILL - 1.99),
    answer(2, 201, KILL - 0.5, KILL - 0.49),
    answer(3, 201, KILL - 0.01, KILL + 4.01),
    answer(4, 201, KILL + 2.0, KILL + 4.02),
    answer(5, 201, KILL + 5.0, KILL + 5.01),
]
ROWS = [row(1, KILL - 1.995), row(2, KILL - 0.495), row(3, KILL + 4.0), row(4, KILL + 4.01)]
ROWS += [row(5, KILL + 5.005)]
LAST_FAILOVER = {
    "to": "pg1",
    "detectedAt": "1970-01-01T00:16:40.750Z",  # KILL + 0.75
    "promotedAt": "1970-01-01T00:16:43.500Z",  # KILL + 3.5
    "seconds": 2.75,
}
CLEAN = Redirects(total=100, failed=0, failures=[], max_ms=3.0)


def figures(**changes: object) -> dict[str, object]:
    given: dict[str, object] = {
        "failover_delay": 2.0,
        "answers": ANSWERS,
        "stored": ROWS,
        "killed_at": KILL,
        "dead_at": KILL + 0.02,
        "last_failover": LAST_FAILOVER,
        "redirects": CLEAN,
    } | changes
    return failover_figures(**given)  # type: ignore[arg-type]


def test_rto_is_from_the_last_commit_before_the_kill_to_the_first_after() -> None:
    assert recovery(ANSWERS, ROWS, KILL + 0.02) == (KILL - 0.495, KILL + 4.0)
    line = figures()
    assert line["rto_s"] == pytest.approx(4.495)
    assert line["detection_s"] == pytest.approx(0.75)
    assert line["promotion_s"] == pytest.approx(3.5)
    assert line["meets_target"] is True


def test_the_window_p99_counts_creates_waiting_during_the_outage_only() -> None:
    line = figures()
    # #3 and #4 were waiting between the kill and the first commit after it.
    assert line["creates_in_window"] == 2
    assert line["create_p99_ms"] == pytest.approx(4020.0)
    assert line["create_p99_ms_before_kill"] == pytest.approx(10.0)


def test_rto_past_failover_delay_plus_3_misses_the_target() -> None:
    late = [row(3, KILL + 5.0) if r.target.endswith("/3") else r for r in ROWS]
    late = [row(4, KILL + 5.01) if r.target.endswith("/4") else r for r in late]
    line = figures(stored=late)
    assert line["rto_s"] == pytest.approx(5.495)
    assert line["meets_target"] is False
    assert figures(stored=late, failover_delay=10.0)["meets_target"] is True


def test_a_lost_or_doubled_create_or_a_failed_redirect_fails_the_run() -> None:
    lost = figures(stored=[r for r in ROWS if not r.target.endswith("/2")])
    assert (lost["acked_writes_lost"], lost["meets_target"]) == (1, False)
    doubled = figures(stored=[*ROWS, row(4, KILL + 4.5, code="other")])
    assert (doubled["duplicate_rows"], doubled["meets_target"]) == (1, False)
    redirects = figures(redirects=Redirects(100, 1, ["/c1: 503"], 9.0))
    assert (redirects["failed_warm_redirects"], redirects["meets_target"]) == (1, False)


def test_a_commit_on_the_old_primary_while_the_kill_lands_is_not_the_new_primary() -> None:
    # #6 started on pg0 after the signal was sent but before its processes were gone.
    racing = [*ANSWERS, answer(6, 201, KILL - 0.005, KILL + 0.012)]
    line = figures(answers=racing, stored=[*ROWS, row(6, KILL + 0.01)])
    assert line["rto_s"] == pytest.approx(3.99)  # KILL + 0.01 -> KILL + 4.0
    assert line["kill_s"] == pytest.approx(0.02)


def test_a_503_fails_the_run_and_is_counted_by_status() -> None:
    gave_up = [*ANSWERS, answer(6, 503, KILL + 0.1, KILL + 12.1)]
    line = figures(answers=gave_up)
    assert line["failed_creates"] == {"503": 1}
    assert line["acked_writes"] == 5
    assert line["meets_target"] is False


def test_no_commit_after_the_kill_has_no_rto() -> None:
    before = [a for a in ANSWERS if a.sent_at < KILL - 0.1]
    line = figures(answers=before, stored=ROWS[:2])
    assert line["rto_s"] is None and line["meets_target"] is False


def test_outcome_matches_codes_not_just_targets() -> None:
    # A row for the target under another code is not the create the client was told of.
    result = outcome(ANSWERS[:1], [row(1, KILL, code="zzz")])
    assert result.lost == {"https://t/1": "c1"}
    assert result.duplicate_rows == 0


def test_status_stamps_are_read_to_the_millisecond() -> None:
    assert instant("1970-01-01T00:16:43.500Z") == pytest.approx(1003.5)
    assert instant(None) is None
