"""The failover benchmark's figures from what it recorded (pure: no I/O).

Times are epoch seconds on one machine: the client's clock (sent/answered, the kill),
PostgreSQL's ``now()`` (a link's created_at) and the operator's stamps in the status
(detectedAt, promotedAt) are the same clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks.sequential import percentile
from tests.harness.create_load import CreateAnswer, StoredLink, outcome

# The target: the outage lasts at most failoverDelay + 3 s (5 s at a delay of 2).
RTO_MARGIN_S = 3.0


@dataclass(frozen=True)
class Redirects:
    """The warm-redirect hammer's tally."""

    total: int
    failed: int
    failures: list[str]
    max_ms: float | None


def instant(text: str | None) -> float | None:
    """An RFC 3339 stamp from the status (``...Z``) as epoch seconds."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def rto_target(failover_delay: float) -> float:
    return failover_delay + RTO_MARGIN_S


def recovery(
    answers: Iterable[CreateAnswer], stored: Iterable[StoredLink], dead_at: float
) -> tuple[float | None, float | None]:
    """(newest acknowledged create committed on the old primary, first one on the new),
    by the rows' created_at (the transaction's start) split at ``dead_at``, when the
    kill had returned: nothing starts on the old primary after it, nothing on the new
    one before its promotion. (The moment the kill was sent won't do: transactions
    still start on the old primary while the signal is being delivered.)"""
    acknowledged = {(a.target, str(a.body["short_code"])) for a in answers if a.acknowledged}
    times = [row.created_at for row in stored if (row.target, row.code) in acknowledged]
    before = [t for t in times if t <= dead_at]
    after = [t for t in times if t > dead_at]
    return (max(before) if before else None, min(after) if after else None)


def _p99(latencies: list[float]) -> float | None:
    return round(percentile(latencies, 99), 1) if latencies else None


def failover_figures(
    *,
    failover_delay: float,
    answers: list[CreateAnswer],
    stored: list[StoredLink],
    killed_at: float,
    dead_at: float,
    last_failover: dict[str, Any],
    redirects: Redirects,
) -> dict[str, Any]:
    """``killed_at``: the kill -9 was sent; ``dead_at``: it had returned (the primary's
    processes reaped)."""
    result = outcome(answers, stored)
    last_old, first_new = recovery(answers, stored, dead_at)
    rto = round(first_new - last_old, 3) if last_old is not None and first_new is not None else None
    # The window: from the kill until creates commit again; a create is in it if it
    # was waiting at any moment of it.
    window_end = first_new if first_new is not None else max(a.answered_at for a in answers)
    in_window = [a for a in answers if a.sent_at <= window_end and a.answered_at >= killed_at]
    before = [a for a in answers if a.answered_at < killed_at]
    detected, promoted = (instant(last_failover.get(k)) for k in ("detectedAt", "promotedAt"))
    failed = {str(status): n for status, n in sorted(result.statuses.items()) if status != 201}
    target = rto_target(failover_delay)
    figures: dict[str, Any] = {
        "failover_delay_s": failover_delay,
        "detection_s": round(detected - killed_at, 3) if detected is not None else None,
        "promotion_s": round(promoted - killed_at, 3) if promoted is not None else None,
        "kill_s": round(dead_at - killed_at, 3),
        "rto_s": rto,
        "acked_writes": len(result.acknowledged),
        "acked_writes_lost": len(result.lost),
        "duplicate_rows": result.duplicate_rows,
        "create_p99_ms": _p99([a.latency_ms for a in in_window]),
        "create_max_ms": round(max(a.latency_ms for a in in_window), 1) if in_window else None,
        "creates_in_window": len(in_window),
        "create_p99_ms_before_kill": _p99([a.latency_ms for a in before]),
        "creates": len(answers),
        "failed_creates": failed,
        "warm_redirects": redirects.total,
        "failed_warm_redirects": redirects.failed,
        "warm_redirect_max_ms": redirects.max_ms,
        "warm_redirect_failures": redirects.failures[:5],
        "promoted": last_failover.get("to"),
        "operator_detection_to_promotion_s": last_failover.get("seconds"),
    }
    figures["targets"] = {
        "rto_s": f"<= {target:g}",
        "acked_writes_lost": 0,
        "duplicate_rows": 0,
        "failed_warm_redirects": 0,
        "failed_creates": "none (every create answered 201)",
    }
    figures["meets_target"] = (
        rto is not None
        and rto <= target
        and not result.lost
        and result.duplicate_rows == 0
        and redirects.failed == 0
        and not failed
    )
    return figures
