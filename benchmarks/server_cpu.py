"""CPU time a server process spends per request, read from /proc around each load run.

On a shared host the rps of a run depends on how much of its CPU the server got
(other agents' work, wrk itself); the CPU the server process used per request does
not, or much less (caches and context switches still cost some). Reported beside
the rps ratio, it says what the ratio would be were the server the only bottleneck.
It counts the whole process: its background tasks too, so it is an upper bound.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.wrk import WrkResult

# /proc/<pid>/stat and /proc/stat count in these.
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux /proc)."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / TICKS_PER_SECOND


class ServerCpu:
    """Sums a server's CPU time and the requests wrk counted over the runs it wraps."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.seconds = 0.0
        self.requests = 0

    def cpu(self) -> float:
        """The CPU seconds counted: the server process's own."""
        return cpu_seconds(self.pid)

    def measured(self, run: Callable[[], WrkResult]) -> Callable[[], WrkResult]:
        def run_measured() -> WrkResult:
            before = self.cpu()
            result = run()
            self.seconds += self.cpu() - before
            self.requests += result.requests
            return result

        return run_measured

    @property
    def us_per_request(self) -> float:
        return self.seconds / self.requests * 1e6 if self.requests else 0.0


def cpu_fields(subject: ServerCpu, reference: ServerCpu) -> dict[str, Any]:
    """The JSON fields of a ratio scenario's server CPU: each server's per request over
    its rounds, and the ratio they give (the subject's rps ratio were it the only load)."""
    return {
        "server_cpu_us_per_request": round(subject.us_per_request, 1),
        "reference_server_cpu_us_per_request": round(reference.us_per_request, 1),
        "server_cpu_ratio": round(reference.us_per_request / subject.us_per_request, 3)
        if subject.us_per_request
        else None,
    }
