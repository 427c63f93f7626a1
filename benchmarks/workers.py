"""redirect_hit_workers: the hit load against a redirector of 2 workers, alternated with 1.

Both redirectors (``SHORTLINK_WORKERS=2`` and ``=1``, on the stack's PostgreSQL and
Redis) may run on every CPU of the machine, and so may wrk: the question is what a
second worker buys on this 2-core box, where the load generator shares the cores.
Sanic's several workers are spawned processes under a manager, so CPU time is
summed over the whole process tree.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.alternation import alternate, median_of, median_round, summed_socket_errors
from benchmarks.context import ScenarioContext
from benchmarks.fixtures import create_links_one_by_one, follow_each, write_codes
from benchmarks.host import cpu_times, every_cpu, log
from benchmarks.lines import base_line, is_clean, wrk_fields
from benchmarks.link_rules import extra_redirector
from benchmarks.lua import write_cycle_paths_script
from benchmarks.references import WARMUP_S, Reference
from benchmarks.server_cpu import TICKS_PER_SECOND, ServerCpu, cpu_seconds
from benchmarks.wrk import WrkResult, run_wrk

WORKERS = 2
WORKERS_MIN_RATIO = 1.6


def tree_pids(pid: int, children: Callable[[int], list[int]]) -> list[int]:
    """``pid`` and all its descendants, parents first; ``children`` lists one's children."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop(0)
        if current in found:
            continue
        found.append(current)
        pending.extend(children(current))
    return found


def proc_children(pid: int) -> list[int]:
    """The children of ``pid`` (Linux /proc, every thread's list); none once it is gone."""
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        return kids
    return kids


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in tree_pids(pid, proc_children):
        try:
            total += cpu_seconds(member)
        except OSError:
            continue  # exited between the listing and the read
    return total


def children_cpu_seconds() -> float:
    """CPU time of this process's waited-for children so far (wrk, once it returned)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class TreeCpu(ServerCpu):
    """ServerCpu over a process and its descendants; and the load generator's CPU (wrk
    shares the cores here), the machine's, and the wall time of the runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.client_seconds = 0.0
        self.wall_seconds = 0.0
        self.host_seconds = 0.0  # every process's CPU time on the machine meanwhile

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid)

    def measured(self, run: Callable[[], WrkResult]) -> Callable[[], WrkResult]:
        server_measured = super().measured(run)

        def run_measured() -> WrkResult:
            client_before, host_before = children_cpu_seconds(), cpu_times()[0]
            result = server_measured()
            self.host_seconds += (cpu_times()[0] - host_before) / TICKS_PER_SECOND
            self.client_seconds += children_cpu_seconds() - client_before
            self.wall_seconds += result.duration_s
            return result

        return run_measured

    def fields(self, prefix: str) -> dict[str, float | None]:
        fields = cpu_share_fields(
            prefix, self.seconds, self.client_seconds, self.wall_seconds, self.requests
        )
        if self.wall_seconds:
            # What the rest of the machine (other sessions' work) kept busy meanwhile.
            others = self.host_seconds - self.seconds - self.client_seconds
            fields[f"{prefix}other_cpus_busy"] = round(max(0.0, others) / self.wall_seconds, 2)
        return fields


def cpu_share_fields(
    prefix: str, server_s: float, client_s: float, wall_s: float, requests: int
) -> dict[str, float | None]:
    """CPU per request (server, client) and CPUs kept busy on average (server, client)."""

    def per_request(seconds: float) -> float | None:
        return round(seconds / requests * 1e6, 1) if requests else None

    def busy(seconds: float) -> float | None:
        return round(seconds / wall_s, 2) if wall_s else None

    return {
        f"{prefix}server_cpu_us_per_request": per_request(server_s),
        f"{prefix}client_cpu_us_per_request": per_request(client_s),
        f"{prefix}server_cpus_busy": busy(server_s),
        f"{prefix}client_cpus_busy": busy(client_s),
    }


def load_averages() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def redirect_hit_workers(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    load_before = load_averages()
    links = create_links_one_by_one(context, settings.hit_links)
    warmup_problems = follow_each(context.stack.redirector_url, links)
    codes_file = write_codes(context.work_dir / "workers_codes.txt", [code for code, _ in links])
    script = write_cycle_paths_script(context.scratch_dir("workers"), codes_file)
    cpus = every_cpu()

    def load(base_url: str, duration_s: float) -> WrkResult:
        return run_wrk(
            f"{base_url}/",
            duration_s=duration_s,
            connections=settings.connections,
            script=script,
            client_cpus=cpus,
        )

    with (
        extra_redirector(context, "one-worker", cpus=cpus, SHORTLINK_WORKERS="1") as one,
        extra_redirector(context, "two-workers", cpus=cpus, SHORTLINK_WORKERS=str(WORKERS)) as two,
    ):
        assert one.process is not None and two.process is not None
        one_cpu, two_cpu = TreeCpu(one.process.pid), TreeCpu(two.process.pid)
        processes = len(tree_pids(two.process.pid, proc_children))
        log(f"  {WORKERS}-worker redirector: {processes} processes")
        for service in (one, two):  # every worker's local cache filled, outside the rounds
            load(service.base_url, WARMUP_S * 2)
        runs = alternate(
            settings.rounds,
            one_cpu.measured(lambda: load(one.base_url, settings.duration_s)),
            two_cpu.measured(lambda: load(two.base_url, settings.duration_s)),
        )
    one_worker = Reference(
        "redirector_1_worker",
        runs.reference_rps,
        median_of([result.p50_ms for result in runs.reference]),
        median_of([result.p99_ms for result in runs.reference]),
    )
    line = base_line("redirect_hit_workers", context, runs.subject_rps, one_worker)
    return {
        **line,
        "server_cpus": cpus,
        "client_cpus": cpus,
        **wrk_fields(median_round(runs.subject), settings.connections),
        "p99_ms": round(runs.subject_p99_ms, 3),
        "socket_errors": summed_socket_errors(runs.subject),
        "workers": WORKERS,
        "processes_of_the_subject": processes,
        "rounds": runs.rounds(),
        "statistic": (
            f"median of {settings.rounds} alternated rounds (1 worker, {WORKERS} workers, ...)"
        ),
        "links": len(links),
        # On 2 cores the redirector's workers share them with wrk: the CPUs each side
        # kept busy on average say how much room a second worker had.
        **two_cpu.fields(""),
        **one_cpu.fields("reference_"),
        "load_average_before": load_before,
        "load_average_after": load_averages(),
        "warmup_problems": warmup_problems[:5],
        "target": f"rps >= {WORKERS_MIN_RATIO}x one worker, both on every CPU, no errors",
        "meets_target": runs.ratio >= WORKERS_MIN_RATIO
        and is_clean(*runs.subject, *runs.reference)
        and not warmup_problems,
    }
