"""Figures of the analytics_stats_100m line, from timed samples (pure)."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.sequential import percentile

MAX_P50_MS = 100.0
MAX_P99_MS = 500.0


def question_figures(
    subject_rounds: list[list[float]], reference_rounds: list[list[float]]
) -> dict[str, Any]:
    """One question's latencies: p50/p99 over every subject sample (nearest rank),
    each round's p50, and the reference (the same question answered by a raw scan,
    timed in the same rounds, alternated) as the median of its rounds' medians."""
    samples = [ms for one in subject_rounds for ms in one]
    rounds_p50 = [percentile(one, 50) for one in subject_rounds]
    reference_p50 = statistics.median(statistics.median(one) for one in reference_rounds)
    p50 = percentile(samples, 50)
    p99 = percentile(samples, 99)
    return {
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "samples": len(samples),
        "rounds_p50_ms": [round(ms, 2) for ms in rounds_p50],
        "reference_p50_ms": round(reference_p50, 2),
        "reference_rounds_ms": [[round(ms, 2) for ms in one] for one in reference_rounds],
        "ratio": round(reference_p50 / statistics.median(rounds_p50), 2),
        "meets_target": p50 < MAX_P50_MS and p99 < MAX_P99_MS,
    }


def bytes_per_million(bytes_by_table: dict[str, int], clicks: int) -> dict[str, int]:
    """Bytes on disk per 1M clicks, per table and in all."""
    scale = 1_000_000 / clicks
    per_table = {table: round(size * scale) for table, size in bytes_by_table.items()}
    return {**per_table, "total": sum(per_table.values())}
