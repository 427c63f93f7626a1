"""`python -m benchmarks --quick` still runs end to end and reports every field the
issues ask for. It checks the harness works, not the figures: speed is shown by
the benchmark itself, never asserted by a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.config import SCENARIOS

REPO = Path(__file__).resolve().parents[2]
WEB = {"redirect_hit", "redirect_miss", "create", "bulk_1000"}
WEB_FIELDS = {"rps", "p50_ms", "p99_ms", "reference_rps", "nginx_rps", "errors"}
EVERY_LINE = {"scenario", "reference", "ratio", "target", "meets_target", "quick"}


def test_quick_benchmark_reports_all_scenarios() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = {line["scenario"]: line for line in map(json.loads, run.stdout.splitlines())}
    assert list(lines) == list(SCENARIOS)
    for name, line in lines.items():
        assert line.keys() >= EVERY_LINE, name
        assert line["quick"] is True
    for name in WEB:
        line = lines[name]
        assert line.keys() >= WEB_FIELDS, name
        assert line["rps"] > 0 and line["reference_rps"] > 0 and line["nginx_rps"] > 0
        assert line["errors"] == 0, line
    for name in ("redirect_miss", "create"):  # the tail without coordinated omission too
        line = lines[name]
        assert line["open_loop_requests"] > 0 and line["open_loop_errors"] == 0, line
        assert line["open_loop_p99_ms"] >= line["open_loop_p50_ms"] > 0, line
    hit = lines["redirect_hit"]
    assert hit["answered_by"]["local"] >= hit["requests"]  # hits really came from L1
    assert hit["answered_by"]["db"] == 0
    _check_analytics_and_operator(lines)
    _check_link_rules(lines)


def _check_link_rules(lines: dict[str, dict[str, Any]]) -> None:
    rules = lines["redirect_rules"]
    assert rules["errors"] == 0 and rules["rps"] > 0 and rules["reference_rps"] > 0
    assert rules["distinct_targets_for_the_profiles"] >= 4  # the visitors really vary
    assert rules["evaluator_us_per_request"] > 0
    assert rules["edge_evaluation_us_per_request"] > 0
    assert rules["server_cpu_us_per_request"] > 0 and rules["server_cpu_ratio"] > 0
    limited = lines["redirect_limited"]
    assert limited["served_to_target_per_round"] == [limited["max_clicks"]] * len(
        limited["rounds"]["subject_rps"]
    )
    assert limited["other_answers"] == 0 and all(limited["served_to_fallback_per_round"])


def _check_analytics_and_operator(lines: dict[str, dict[str, Any]]) -> None:
    kafka = lines["redirect_hit_with_kafka"]
    assert kafka["errors"] == 0 and kafka["rps"] > 0 and kafka["reference_rps"] > 0
    events = kafka["events"]
    assert events["emitted"] > 0 and events["delivered"] == events["emitted"]  # none lost

    ingest = lines["analytics_ingest"]
    assert ingest["events_per_s"] > 0 and ingest["reference_events_per_s"] > 0
    assert ingest["lag"]["stored"] == ingest["lag"]["sent"] > 0
    assert ingest["lag"]["p99_s_upper_bound"] is not None

    stats = lines["analytics_stats"]
    assert stats["clicks"] > 0 and set(stats["p50_ms"]) == {"day", "hour", "day_ragged"}

    operator = lines["operator_sync"]
    assert operator["ready"] == operator["links"] > 0  # every ShortLink became Ready
    assert operator["rows"] == operator["cached"] == operator["links"]
    assert operator["operator_peak_rss_mb"] > 0 and not operator["redirect_problems"]
