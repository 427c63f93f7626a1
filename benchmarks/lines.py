"""Building the JSON line each scenario prints."""

from __future__ import annotations

from typing import Any

from benchmarks.context import ScenarioContext
from benchmarks.open_loop import OPEN_LOOP_SHARE, OpenLoopRun
from benchmarks.references import Reference
from benchmarks.sequential import percentile
from benchmarks.wrk import WrkResult

UNLOADED_CONNECTIONS = 1
# Issue 23's tail target for a loaded miss and create, by both latency methods.
LOADED_MAX_P99_MS = 50.0
# wrk 4 adds synthetic samples for every response slower than the mean per-connection
# interval (its coordinated-omission correction), which stretches long tails.
WRK_LATENCY_METHOD = "wrk --latency (coordinated-omission corrected)"


def base_line(
    scenario: str, context: ScenarioContext, rps: float, floor: Reference | None = None
) -> dict[str, Any]:
    """``floor``: a reference measured alongside the scenario; else the one measured up front."""
    floor = floor or context.references.floors[scenario]
    nginx = context.references.nginx
    return {
        "scenario": scenario,
        "rps": round(rps, 1),
        "reference": floor.name,
        "reference_rps": round(floor.rps, 1),
        "ratio": round(rps / floor.rps, 3),
        "nginx_rps": round(nginx.rps, 1),
        "nginx_ratio": round(rps / nginx.rps, 4),
        "reference_p50_ms": round(floor.p50_ms, 3),
        "reference_p99_ms": round(floor.p99_ms, 3),
        "server_cpus": context.settings.cpus.server_cpus,
        "client_cpus": context.settings.cpus.client_cpus,
        "quick": context.settings.quick,
        "host_busy_pct_before": context.host_busy_percent,
        **(
            {"service_overrides": context.settings.service_overrides}
            if context.settings.service_overrides
            else {}
        ),
    }


def wrk_fields(result: WrkResult, connections: int) -> dict[str, Any]:
    return {
        "latency_method": WRK_LATENCY_METHOD,
        "p50_ms": round(result.p50_ms, 3),
        "p99_ms": round(result.p99_ms, 3),
        "connections": connections,
        "duration_s": result.duration_s,
        "requests": result.requests,
        "errors": result.errors,
        "socket_errors": result.socket_errors,
        "non_2xx_3xx": result.non_2xx_3xx,
    }


def unloaded_fields(result: WrkResult, rps: float) -> dict[str, Any]:
    return {
        "unloaded_connections": UNLOADED_CONNECTIONS,
        "unloaded_rps": round(rps, 1),
        "unloaded_p50_ms": round(result.p50_ms, 3),
        "unloaded_p99_ms": round(result.p99_ms, 3),
        "unloaded_errors": result.errors + result.non_2xx_3xx,
    }


def loaded_p99_fields(loaded: WrkResult, open_run: OpenLoopRun, connections: int) -> dict[str, Any]:
    """The loaded tail by wrk (closed loop, at saturation) and by the open loop below it."""
    open_p99_ms = percentile(open_run.latencies_ms, 99)
    return {
        **open_run.fields("open_loop_"),
        "p99_target": (
            f"p99 < {LOADED_MAX_P99_MS:g} ms at {connections} connections, by wrk (closed loop,"
            f" saturated) and by the open loop at {OPEN_LOOP_SHARE:g}x wrk's rate"
        ),
        "meets_p99_target_wrk": loaded.p99_ms < LOADED_MAX_P99_MS and is_clean(loaded),
        "meets_p99_target_open_loop": open_p99_ms < LOADED_MAX_P99_MS and not open_run.failures,
    }


def is_clean(*results: WrkResult) -> bool:
    return all(result.errors == 0 and result.non_2xx_3xx == 0 for result in results)
