"""The cluster benchmarks' figures from what they recorded (pure: no I/O): an event
(cluster_failover's members dying, cluster_upgrade's rolls) beside the quiet period
before it.

Times are epoch seconds on this machine's clock (the client's sent/answered stamps).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.sequential import percentile
from tests.harness.cluster.in_chart_postgres import RTO_TARGET, Redirects, longest_gap
from tests.harness.create_load import CreateAnswer, Outcome, StoredLink


@dataclass(frozen=True)
class Period:
    """A quiet period or an event, from its start until it was over."""

    name: str
    start: float
    end: float
    note: str = ""


def _percentile(latencies: list[float], percent: float) -> float | None:
    return round(percentile(latencies, percent), 1) if latencies else None


def _latencies(name: str, latencies: list[float]) -> dict[str, float | None]:
    return {
        f"{name}_p50_ms": _percentile(latencies, 50),
        f"{name}_p99_ms": _percentile(latencies, 99),
    }


def period_figures(
    period: Period, answers: list[CreateAnswer], warm: Redirects, cold: Redirects
) -> dict[str, Any]:
    """What was sent during `period`: counts, failures and p50/p99 latencies."""
    creates = [a for a in answers if period.start <= a.sent_at <= period.end]
    warm_in, cold_in = (
        warm.between(period.start, period.end),
        cold.between(period.start, period.end),
    )
    return {
        "seconds": round(period.end - period.start, 1),
        "creates": len(creates),
        "failed_creates": sum(1 for a in creates if not a.acknowledged),
        **_latencies("create", [a.latency_ms for a in creates]),
        "warm_redirects": warm_in.total,
        "failed_warm_redirects": len(warm_in.failures),
        **_latencies("warm_redirect", [ms for _, ms, _ in warm_in.sent]),
        "cold_redirects": cold_in.total,
        "failed_cold_redirects": len(cold_in.failures),
        **_latencies("cold_redirect", [ms for _, ms, _ in cold_in.sent]),
    }


def event_figures(
    quiet: Period,
    event: Period,
    answers: list[CreateAnswer],
    rows: list[StoredLink],
    result: Outcome,
    warm: Redirects,
    cold: Redirects,
) -> dict[str, Any]:
    """The event's figures beside those of the quiet period before it (the reference).
    Creates lost or doubled: those sent during the event, against the rows on the
    primary at the end."""
    sent = {a.target for a in answers if event.start <= a.sent_at <= event.end}
    per_target = Counter(row.target for row in rows if row.target in sent)
    failures = (
        warm.between(event.start, event.end).failures
        + cold.between(event.start, event.end).failures
    )
    return {
        "event": event.name,
        "what": event.note,
        "rto_s": round(longest_gap(answers, event.start, event.end), 2),
        "acked_writes_lost": sum(1 for target in result.lost if target in sent),
        "duplicate_rows": sum(n - 1 for n in per_target.values() if n > 1),
        "during": period_figures(event, answers, warm, cold),
        "quiet_reference": period_figures(quiet, answers, warm, cold),
        "redirect_failures": failures[:5],
    }


def meets_target(event: dict[str, Any]) -> bool:
    """A standby's death: no failed redirect (issue 24). The primary's: nothing
    acknowledged lost or doubled, no failed warm redirect, RTO within failoverDelay
    + 3 s (issue 18)."""
    during = event["during"]
    if event["event"].startswith("standby"):
        return bool(during["failed_warm_redirects"] == during["failed_cold_redirects"] == 0)
    return bool(
        event["acked_writes_lost"] == event["duplicate_rows"] == 0
        and during["failed_warm_redirects"] == 0
        and event["rto_s"] <= RTO_TARGET
    )


def summary(
    events: list[dict[str, Any]], judge: Callable[[dict[str, Any]], bool] = meets_target
) -> dict[str, dict[str, Any]]:
    """Per kind of event, over its rounds: the RTOs, the failures summed, the medians
    of the latencies during the events beside those of their quiet periods, and
    whether every round met its target (`judge`)."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        kinds.setdefault(event["event"], []).append(event)
    found = {}
    for kind, rounds in kinds.items():

        def median(key: str, part: str, rounds: list[dict[str, Any]] = rounds) -> float | None:
            values = [r[part][key] for r in rounds if r[part][key] is not None]
            return round(statistics.median(values), 1) if values else None

        found[kind] = {
            "rounds": len(rounds),
            "rto_s": [r["rto_s"] for r in rounds],
            "acked_writes_lost": sum(r["acked_writes_lost"] for r in rounds),
            "duplicate_rows": sum(r["duplicate_rows"] for r in rounds),
            "failed_creates": sum(r["during"]["failed_creates"] for r in rounds),
            "failed_warm_redirects": sum(r["during"]["failed_warm_redirects"] for r in rounds),
            "failed_cold_redirects": sum(r["during"]["failed_cold_redirects"] for r in rounds),
            **{
                f"{key}_median": {
                    "during": median(key, "during"),
                    "quiet": median(key, "quiet_reference"),
                }
                for key in rounds[0]["during"]
                if key.endswith("_ms")
            },
            "meets_target": all(judge(r) for r in rounds),
        }
    return found


def run_figures(result: Outcome, answers: list[CreateAnswer]) -> dict[str, int]:
    """The creates of the whole run: acknowledged, lost, doubled, sent."""
    return {
        "acked_writes": len(result.acknowledged),
        "acked_writes_lost": len(result.lost),
        "duplicate_rows": result.duplicate_rows,
        "creates": len(answers),
    }
