"""``python -m benchmarks [scenario ...]``: one JSON line per scenario on stdout.

Progress and diagnostics go to stderr, so stdout can be piped straight into
a file of JSON lines.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.config import (
    ALL_SCENARIOS,
    DEFAULT_FAILOVER_DELAY_S,
    ON_DEMAND_SCENARIOS,
    SCENARIOS,
    RunSettings,
)
from benchmarks.context import ScenarioContext, new_run_id
from benchmarks.host import ToolMissing, cpu_affinity, cpu_busy_percent, ensure_tools, log
from benchmarks.references import measure_references
from benchmarks.scenarios import ON_DEMAND_RUNNERS, RUNNERS
from benchmarks.stack import shortlink_stack

BUSY_WARNING_PERCENT = 10.0


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Load-test Shortlink against a bare Sanic floor and nginx, all on loopback.",
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="scenario",
        help=(
            f"any of {', '.join(ALL_SCENARIOS)} (default: all but "
            f"{', '.join(ON_DEMAND_SCENARIOS)}, which run only when named)"
        ),
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per load run (10; 2 with --quick)"
    )
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--quick", action="store_true", help="short runs, for a CI smoke test")
    parser.add_argument(
        "--miss-links",
        type=int,
        default=None,
        help="links created for redirect_miss (100000; 8000 with --quick)",
    )
    parser.add_argument(
        "--bulk-requests",
        type=int,
        default=None,
        help="timed 1000-URL bulk requests (20; 3 with --quick)",
    )
    parser.add_argument(
        "--operator-links",
        type=int,
        default=None,
        help="ShortLinks applied by operator_sync (1000; 200 with --quick; the target is 10000)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="alternated subject/reference rounds where a ratio is the target (3; 1 with --quick)",
    )
    parser.add_argument(
        "--durable-db",
        action="store_true",
        help="run PostgreSQL with fsync and synchronous_commit on (off by default)",
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the services (repeatable), e.g. SHORTLINK_DB_POOL_MAX=64",
    )
    parser.add_argument(
        "--failover-delay",
        type=float,
        default=DEFAULT_FAILOVER_DELAY_S,
        help=f"the PostgresCluster's failoverDelay for failover ({DEFAULT_FAILOVER_DELAY_S:g} s)",
    )
    parser.add_argument(
        "--clicks",
        type=int,
        default=None,
        help="clicks analytics_stats_100m generates (100000000; 1000000 with --quick)",
    )
    parser.add_argument(
        "--scale-dir",
        default="",
        help="chDB directory for analytics_stats_100m, kept; clicks already in it are reused",
    )
    parser.add_argument(
        "--compare",
        default="",
        metavar="REF",
        help="redirect_rules: also run REF's redirector (a git commit) in the same rounds",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs) afterwards")
    arguments = parser.parse_args(argv)
    if arguments.rounds is not None and arguments.rounds < 1:
        parser.error("--rounds must be at least 1")
    if malformed := [item for item in arguments.service_env if "=" not in item]:
        parser.error(f"--service-env needs NAME=VALUE, not {', '.join(malformed)}")
    unknown = sorted(set(arguments.scenarios) - set(ALL_SCENARIOS))
    if unknown:
        parser.error(
            f"unknown scenario {', '.join(unknown)}; choose from {', '.join(ALL_SCENARIOS)}"
        )
    return arguments


def run(arguments: argparse.Namespace) -> int:
    scenarios = [name for name in ALL_SCENARIOS if name in arguments.scenarios] or list(SCENARIOS)
    settings = RunSettings.build(
        quick=arguments.quick,
        duration_s=arguments.duration,
        connections=arguments.connections,
        miss_links=arguments.miss_links,
        bulk_requests=arguments.bulk_requests,
        durable_db=arguments.durable_db,
        operator_links=arguments.operator_links,
        rounds=arguments.rounds,
        service_overrides=dict(item.split("=", 1) for item in arguments.service_env),
        failover_delay_s=arguments.failover_delay,
        scale_clicks=arguments.clicks,
        scale_dir=arguments.scale_dir,
        compare=arguments.compare,
    )
    work_dir = Path(tempfile.mkdtemp(prefix="shortlink-bench-"))
    log(f"work dir {work_dir}; scenarios {', '.join(scenarios)}")
    try:
        # This process (and the sequential bulk client in it) shares the load generator's CPU.
        with cpu_affinity(settings.cpus.client_cpus):
            lines = run_scenarios(scenarios, settings, work_dir)
    except BaseException:
        log(f"failed; logs kept in {work_dir}")
        raise
    # On-demand scenarios gate (the failover's targets are pass/fail); the others
    # report their targets and leave judging them to the reader.
    failed = [
        line["scenario"]
        for line in lines
        if line["scenario"] in ON_DEMAND_SCENARIOS and not line["meets_target"]
    ]
    if arguments.keep or failed:
        log(f"kept {work_dir}")
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    if failed:
        log(f"missed its target: {', '.join(failed)}")
        return 1
    return 0


def run_scenarios(
    scenarios: list[str], settings: RunSettings, work_dir: Path
) -> list[dict[str, Any]]:
    busy = cpu_busy_percent()
    if busy is not None and busy > BUSY_WARNING_PERCENT:
        log(f"warning: the machine is already {busy:.0f}% busy; figures will be skewed")
    lines = [
        emit(ON_DEMAND_RUNNERS[name](settings, work_dir / name, busy))
        for name in scenarios
        if name in ON_DEMAND_SCENARIOS
    ]
    stacked = [name for name in scenarios if name not in ON_DEMAND_SCENARIOS]
    if stacked:
        lines += run_on_stack(stacked, settings, work_dir, busy)
    return lines


def emit(line: dict[str, Any]) -> dict[str, Any]:
    print(json.dumps(line), flush=True)
    return line


def run_on_stack(
    scenarios: list[str], settings: RunSettings, work_dir: Path, busy: float | None
) -> list[dict[str, Any]]:
    """The scenarios sharing one Shortlink stack and the references."""
    references = measure_references(scenarios, settings, work_dir)
    log(f"nginx_302: {references.nginx.rps:.0f} rps")
    for floor in {reference.name: reference for reference in references.floors.values()}.values():
        log(f"{floor.name}: {floor.rps:.1f} rps, p50 {floor.p50_ms:.2f} ms")
    with shortlink_stack(
        work_dir,
        settings.cpus,
        durable_db=settings.durable_db,
        service_overrides=settings.service_overrides,
    ) as stack:
        context = ScenarioContext(stack, settings, references, work_dir, new_run_id(), busy)
        lines = []
        for scenario in scenarios:
            log(f"scenario {scenario}")
            lines.append(emit(RUNNERS[scenario](context)))
        return lines


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        ensure_tools()
    except ToolMissing as missing:
        log(f"error: {missing}")
        return 2
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
