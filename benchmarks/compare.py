"""``--compare REF``: the subject's redirector beside one running REF's code, on one stack.

A change of a few µs per request is below what two separate runs can show on a
shared host (their rps ratios to the floor move ±20 % from run to run). Two
redirectors on the same PostgreSQL and Redis, measured in turns within one run, are
exposed to the same drift. REF's code is taken with ``git archive`` (its committed
tree, not a working copy) and served from its source folders, which come first on
PYTHONPATH and so win over the checkout's editable install.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.alternation import median_of
from benchmarks.host import REPO_ROOT
from benchmarks.server_cpu import ServerCpu
from benchmarks.wrk import WrkResult

# The folders of the `shortlink` namespace (pyproject.toml's packages).
NAMESPACE_FOLDERS = ("core", "api", "redirector", "analytics", "operator")


def snapshot(ref: str, directory: Path) -> tuple[str, dict[str, str]]:
    """REF's commit, unpacked into ``directory``; the environment that runs its code."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", commit, *NAMESPACE_FOLDERS],
        cwd=REPO_ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    path = os.pathsep.join(str(directory / folder) for folder in NAMESPACE_FOLDERS)
    return commit, {"PYTHONPATH": path}


@dataclass(frozen=True)
class Compared:
    """REF's redirector while it runs, or none (no ``--compare``)."""

    commit: str = ""
    base_url: str = ""
    cpu: ServerCpu | None = None
    results: list[WrkResult] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [self.base_url] if self.cpu is not None else []

    def runs(self, load: Callable[[str], Callable[[], WrkResult]]) -> list[Callable[[], WrkResult]]:
        """REF's measured run for a round (none without REF); its results are kept."""
        if self.cpu is None:
            return []
        measured = self.cpu.measured(load(self.base_url))

        def run() -> WrkResult:
            result = measured()
            self.results.append(result)
            return result

        return [run]

    def fields(self, subject: list[WrkResult], subject_cpu: ServerCpu) -> dict[str, Any]:
        """``compare_fields`` once the rounds ran; nothing without REF."""
        if self.cpu is None:
            return {}
        return compare_fields(
            self.commit, subject, self.results, subject_cpu=subject_cpu, reference_cpu=self.cpu
        )


def compare_fields(
    commit: str,
    subject: list[WrkResult],
    reference: list[WrkResult],
    *,
    subject_cpu: ServerCpu,
    reference_cpu: ServerCpu,
) -> dict[str, Any]:
    """The JSON field of a comparison: REF's redirector against the subject's, by rps
    (median of the rounds) and by server CPU per request over them."""
    subject_rps = median_of([result.rps for result in subject])
    reference_rps = median_of([result.rps for result in reference])
    cpu = reference_cpu.us_per_request / subject_cpu.us_per_request if subject_cpu.requests else 0
    return {
        "compare": {
            "ref": commit,
            "ref_rps": round(reference_rps, 1),
            "rps_ratio": round(subject_rps / reference_rps, 3),
            "ref_server_cpu_us_per_request": round(reference_cpu.us_per_request, 1),
            "server_cpu_ratio": round(cpu, 3),
            "ref_rounds_rps": [round(result.rps, 1) for result in reference],
        }
    }
