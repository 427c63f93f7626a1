"""Figures of the analytics_stats_100m line, from timed samples (pure)."""

from __future__ import annotations

import statistics
from pathlib import Path
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


# Written into a kept directory once every click is in: generation goes a 10M chunk
# at a time, so an interrupted run leaves a directory that holds only some of them.
GENERATED = "GENERATED"


def check_generation_complete(directory: Path, stored: int) -> None:
    """SystemExit unless ``directory``'s GENERATED names the ``stored`` clicks."""
    marker = directory / GENERATED
    written = marker.read_text().strip() if marker.exists() else ""
    if written != str(stored):
        raise SystemExit(
            f"{directory} holds {stored:,} clicks but its generation did not finish"
            f" ({GENERATED} {'says ' + written if written else 'missing'}): delete it"
            " and run again"
        )
