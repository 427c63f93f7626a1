"""benchmarks.compare: REF's code unpacked to run beside the subject, and its figures."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from benchmarks.compare import NAMESPACE_FOLDERS, Compared, compare_fields, snapshot
from benchmarks.host import REPO_ROOT
from benchmarks.server_cpu import ServerCpu
from benchmarks.wrk import WrkResult


def result(rps: float) -> WrkResult:
    return WrkResult(
        rps=rps,
        requests=int(rps),
        duration_s=1.0,
        percentiles_ms={50.0: 1.0, 99.0: 2.0},
        socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0},
        non_2xx_3xx=0,
    )


def cpu(seconds: float, requests: int) -> ServerCpu:
    counted = ServerCpu(pid=0)
    counted.seconds, counted.requests = seconds, requests
    return counted


def test_snapshot_unpacks_the_commits_tree_and_puts_it_first_on_the_path(tmp_path: Path) -> None:
    commit, environment = snapshot("HEAD~1", tmp_path)
    expected = subprocess.run(
        ["git", "rev-parse", "HEAD~1"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert commit == expected
    assert environment["PYTHONPATH"].split(":") == [
        str(tmp_path / folder) for folder in NAMESPACE_FOLDERS
    ]
    committed = subprocess.run(
        ["git", "show", f"{commit}:core/shortlink/domain/routing.py"],
        cwd=REPO_ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert (tmp_path / "core/shortlink/domain/routing.py").read_bytes() == committed


def test_compare_fields_are_the_subject_against_the_ref_by_rps_and_by_cpu() -> None:
    fields = compare_fields(
        "abc",
        [result(1000), result(1200), result(900)],
        [result(800), result(1000), result(5000)],
        subject_cpu=cpu(0.06, 1000),  # 60 µs a request
        reference_cpu=cpu(0.075, 1000),  # 75 µs
    )["compare"]
    assert fields["ref"] == "abc"
    assert fields["ref_rps"] == 1000  # the median, not the outlier round
    assert fields["rps_ratio"] == 1.0
    assert fields["ref_server_cpu_us_per_request"] == 75.0
    assert fields["server_cpu_ratio"] == 1.25  # the subject needs 0.8x the ref's CPU
    assert fields["ref_rounds_rps"] == [800, 1000, 5000]


def test_compared_runs_are_measured_and_kept_for_its_fields() -> None:
    compared = Compared("abc", "http://ref", ServerCpu(pid=os.getpid()))
    loaded: list[str] = []

    def load(url: str) -> Callable[[], WrkResult]:
        loaded.append(url)
        return lambda: result(500)

    (run,) = compared.runs(load)
    run(), run()
    assert loaded == ["http://ref"] and compared.urls == ["http://ref"]
    assert compared.results == [result(500), result(500)]
    fields = compared.fields([result(1000)], subject_cpu=cpu(0.001, 1000))["compare"]
    assert fields["ref_rps"] == 500 and fields["rps_ratio"] == 2.0


def test_without_a_ref_nothing_is_run_or_reported() -> None:
    nothing = Compared()
    assert nothing.runs(lambda url: lambda: result(1)) == [] and nothing.urls == []
    assert nothing.fields([result(1000)], subject_cpu=cpu(0.001, 1000)) == {}
