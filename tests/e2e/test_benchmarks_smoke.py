"""`python -m benchmarks --quick` still runs end to end and reports every field the
issue asks for. It checks the harness works, not the figures: speed is shown by
the benchmark itself, never asserted by a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REQUIRED = {
    "scenario",
    "rps",
    "p50_ms",
    "p99_ms",
    "reference",
    "reference_rps",
    "ratio",
    "nginx_rps",
}


def test_quick_benchmark_reports_all_scenarios() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["scenario"] for line in lines] == [
        "redirect_hit",
        "redirect_miss",
        "create",
        "bulk_1000",
    ]
    for line in lines:
        assert line.keys() >= REQUIRED, line["scenario"]
        assert line["rps"] > 0 and line["reference_rps"] > 0 and line["nginx_rps"] > 0
        assert line["errors"] == 0, line
    hit = lines[0]
    assert hit["answered_by"]["local"] >= hit["requests"]  # hits really came from L1
    assert hit["answered_by"]["db"] == 0
