"""The four scenarios against the running stack; each returns one JSON-ready line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.alternation import (
    Alternation,
    alternate_each,
    median_of,
    median_round,
    summed_socket_errors,
)
from benchmarks.analytics import analytics_ingest, analytics_stats, redirect_hit_with_kafka
from benchmarks.analytics_scale import analytics_stats_100m
from benchmarks.cluster_failover import cluster_failover_line
from benchmarks.cluster_upgrade import cluster_upgrade_line
from benchmarks.config import RunSettings
from benchmarks.context import ScenarioContext
from benchmarks.failover import failover_line
from benchmarks.fixtures import (
    create_links_in_bulk,
    create_links_one_by_one,
    follow_each,
    split_by_weight,
    write_codes,
)
from benchmarks.host import log
from benchmarks.lines import (
    UNLOADED_CONNECTIONS,
    base_line,
    is_clean,
    loaded_p99_fields,
    unloaded_fields,
    wrk_fields,
)
from benchmarks.link_rules import compared_redirector, redirect_limited, redirect_rules
from benchmarks.lua import (
    write_cycle_paths_script,
    write_each_path_once_script,
    write_post_unique_urls_script,
)
from benchmarks.metrics import difference, redirects_by_source
from benchmarks.open_loop import OPEN_LOOP_SHARE, PlannedRequest, open_loop_at_share
from benchmarks.operator_sync import operator_sync_line
from benchmarks.references import WARMUP_S, Reference, bare_sanic_process, raw_floor_process
from benchmarks.sequential import BULK_SIZE, bulk_bodies, percentile, run_bulk_sequence
from benchmarks.server_cpu import ServerCpu, cpu_fields
from benchmarks.stack import resident_mb
from benchmarks.workers import redirect_hit_workers
from benchmarks.wrk import WrkResult

# Issue 22: links without rules stay >= 0.9x the floor (the first target was 0.8x).
HIT_MIN_RATIO = 0.9
HIT_MAX_P99_MS = 10.0
# Against the raw uvloop floor (issue 23): half its rps, its p99 within 1.25x.
RAW_FLOOR_MIN_RATIO = 0.5
RAW_FLOOR_MAX_P99_RATIO = 1.25
MISS_MAX_P50_MS = 3.0
CREATE_MAX_P50_MS = 5.0
BULK_MAX_P50_MS = 200.0
# Codes kept out of the miss run and followed first, to check redirects still work after FLUSHALL.
MISS_CHECK_CODES = 20


def redirect_hit(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    links = create_links_one_by_one(context, settings.hit_links)
    warmup_problems = follow_each(context.stack.redirector_url, links)
    codes_file = write_codes(context.work_dir / "hit_codes.txt", [code for code, _ in links])
    script = write_cycle_paths_script(context.scratch_dir("hit"), codes_file)

    def load(base_url: str) -> Callable[[], WrkResult]:
        return lambda: context.wrk(
            f"{base_url}/", script, connections=settings.connections, duration_s=settings.duration_s
        )

    # Both floors serve the same codes on the same CPU, alternated with the redirector:
    # raw uvloop, bare Sanic, the redirector, round after round.
    server_cpus = settings.cpus.server_cpus
    with (
        raw_floor_process(context.work_dir, codes_file, server_cpus) as raw,
        bare_sanic_process(context.work_dir, codes_file, server_cpus) as sanic,
        compared_redirector(context, "hit-compare") as compared,
    ):
        floor_url, floor_cpu = sanic[0], ServerCpu(sanic[1])
        raw_url, raw_cpu = raw[0], ServerCpu(raw[1])
        redirector = context.stack.redirector.process
        assert redirector is not None
        subject_cpu = ServerCpu(redirector.pid)  # taskset execs the service: its pid
        # Warm up all first, outside the counters, so answered_by covers measured runs only.
        for base_url in (raw_url, floor_url, *compared.urls, context.stack.redirector_url):
            context.wrk(
                f"{base_url}/", script, connections=settings.connections, duration_s=WARMUP_S
            )
        counted_before = redirects_by_source(context.stack.redirector.ops_url)
        raw_runs, floor_runs, *_, subject_runs = alternate_each(
            settings.rounds,
            [
                raw_cpu.measured(load(raw_url)),
                floor_cpu.measured(load(floor_url)),
                *compared.runs(load),  # REF's redirector (--compare), if any
                subject_cpu.measured(load(context.stack.redirector_url)),
            ],
        )
    runs = Alternation(subject=subject_runs, reference=floor_runs)
    raw_floor = Alternation(subject=subject_runs, reference=raw_runs)
    answered_by = difference(counted_before, redirects_by_source(context.stack.redirector.ops_url))
    floor = Reference(
        "bare_sanic_302",
        runs.reference_rps,
        median_of([result.p50_ms for result in runs.reference]),
        median_of([result.p99_ms for result in runs.reference]),
    )
    median_run = median_round(runs.subject)
    p99_ms = runs.subject_p99_ms
    line = base_line("redirect_hit", context, runs.subject_rps, floor)
    meets = (
        runs.ratio >= HIT_MIN_RATIO
        and p99_ms < HIT_MAX_P99_MS
        and is_clean(*runs.subject, *runs.reference)
        and not warmup_problems
    )
    return {
        **line,
        **wrk_fields(median_run, settings.connections),
        "p99_ms": round(p99_ms, 3),
        "requests": sum(result.requests for result in runs.subject),
        "errors": sum(result.errors for result in runs.subject),
        "socket_errors": summed_socket_errors(runs.subject),
        "non_2xx_3xx": sum(result.non_2xx_3xx for result in runs.subject),
        "rounds": {**runs.rounds(), "raw_floor_rps": raw_floor.rounds()["reference_rps"]},
        "statistic": (
            f"median of {settings.rounds} alternated rounds (raw floor, reference, "
            f"{'compared ref, ' if compared.commit else ''}subject, ...)"
        ),
        "links": len(links),
        "answered_by": answered_by,
        # CPU per request of each server over its rounds: robust to a busy host.
        **cpu_fields(subject_cpu, floor_cpu),
        **compared.fields(runs.subject, subject_cpu),
        "redirector_rss_mb": resident_mb(context.stack.redirector),
        "warmup_problems": warmup_problems[:5],
        "target": (
            f"rps >= {HIT_MIN_RATIO}x bare Sanic 302 and p99 < {HIT_MAX_P99_MS:g} ms "
            f"at {settings.connections} connections, no errors"
        ),
        "meets_target": meets,
        **raw_floor_fields(raw_floor, subject_cpu, raw_cpu),
    }


def raw_floor_fields(
    runs: Alternation, subject_cpu: ServerCpu, raw_cpu: ServerCpu
) -> dict[str, Any]:
    """redirect_hit against the raw uvloop floor (``benchmarks/raw_floor.py``), measured
    in the same rounds: both ratios and the harder goal (reported, not folded into
    ``meets_target``)."""
    raw_p99_ms = median_of([result.p99_ms for result in runs.reference])
    p99_ratio = runs.subject_p99_ms / raw_p99_ms if raw_p99_ms else None
    rps_ratio = runs.ratio
    return {
        "raw_floor": "raw_uvloop_protocol_302",
        "raw_floor_rps": round(runs.reference_rps, 1),
        "raw_floor_p50_ms": round(median_of([result.p50_ms for result in runs.reference]), 3),
        "raw_floor_p99_ms": round(raw_p99_ms, 3),
        "raw_floor_ratio": round(rps_ratio, 3),
        "raw_floor_p99_ratio": None if p99_ratio is None else round(p99_ratio, 3),
        "raw_floor_server_cpu_us_per_request": round(raw_cpu.us_per_request, 1),
        "raw_floor_server_cpu_ratio": round(raw_cpu.us_per_request / subject_cpu.us_per_request, 3)
        if subject_cpu.us_per_request
        else None,
        "raw_floor_target": (
            f"rps >= {RAW_FLOOR_MIN_RATIO}x the raw floor's, "
            f"p99 <= {RAW_FLOOR_MAX_P99_RATIO}x its p99, no errors"
        ),
        "meets_raw_floor_target": rps_ratio >= RAW_FLOOR_MIN_RATIO
        and p99_ratio is not None
        and p99_ratio <= RAW_FLOOR_MAX_P99_RATIO
        and is_clean(*runs.subject, *runs.reference),
    }


def exhausted(result: WrkResult) -> bool:
    return int(result.script_fields.get("exhausted_threads", "0")) > 0


def active_seconds(result: WrkResult) -> float:
    """Seconds the run really lasted: wrk reports the full -d even after the script stopped."""
    exhausted_after_ms = int(result.script_fields.get("exhausted_after_ms", "0"))
    return exhausted_after_ms / 1000 if exhausted_after_ms > 0 else result.duration_s


def active_rps(result: WrkResult) -> float:
    return result.requests / active_seconds(result) if exhausted(result) else result.rps


def redirect_miss(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    log(f"  creating {settings.miss_links} links through the bulk API")
    links = create_links_in_bulk(context, settings.miss_links)
    check_links, miss_codes = (
        links[:MISS_CHECK_CODES],
        [code for code, _ in links[MISS_CHECK_CODES:]],
    )
    # The API caches what it creates; a miss must go all the way to PostgreSQL.
    context.stack.redis.flushall()
    check_problems = follow_each(context.stack.redirector_url, check_links)

    # Separate codes for the three runs, so no code is ever requested twice; the open
    # loop's share is what it needs at OPEN_LOOP_SHARE of a loaded run's rate.
    unloaded_codes, loaded_codes, open_loop_codes = split_by_weight(
        miss_codes,
        (
            settings.unloaded_duration_s,
            settings.miss_duration_s,
            OPEN_LOOP_SHARE * settings.miss_duration_s,
        ),
    )
    runs = []
    for label, codes, connections, duration_s in (
        ("unloaded", unloaded_codes, UNLOADED_CONNECTIONS, settings.unloaded_duration_s),
        ("loaded", loaded_codes, settings.connections, settings.miss_duration_s),
    ):
        directory = context.scratch_dir(f"miss_{label}")
        script = write_each_path_once_script(directory, write_codes(directory / "codes.txt", codes))
        counted_before = redirects_by_source(context.stack.redirector.ops_url)
        runs.append(
            context.wrk(
                f"{context.stack.redirector_url}/",
                script,
                connections=connections,
                duration_s=duration_s,
            )
        )
    # Of the loaded run: every request should have gone to the database.
    answered_by = difference(counted_before, redirects_by_source(context.stack.redirector.ops_url))
    unloaded, loaded = runs
    open_run = open_loop_at_share(
        context.stack.redirector_url,
        [PlannedRequest("GET", f"/{code}", 302) for code in open_loop_codes],
        active_rps(loaded),
        duration_s=settings.miss_duration_s,
        connections=settings.connections,
    )
    all_from_db = (
        None
        if answered_by is None
        else answered_by.get("db", 0) >= loaded.requests
        and answered_by.get("local", 0) == answered_by.get("redis", 0) == 0
    )
    return {
        **base_line("redirect_miss", context, active_rps(loaded)),
        **wrk_fields(loaded, settings.connections),
        "duration_s": active_seconds(loaded),
        **unloaded_fields(unloaded, active_rps(unloaded)),
        "unique_misses": loaded.requests + unloaded.requests,
        "codes_available": len(miss_codes),
        "answered_by": answered_by,
        "all_answered_from_db": all_from_db,
        "codes_exhausted": exhausted(loaded),
        "unloaded_codes_exhausted": exhausted(unloaded),
        "redis_keys_after": context.stack.redis.command("DBSIZE").lstrip(":"),
        "redirector_rss_mb": resident_mb(context.stack.redirector),
        "check_problems": check_problems[:5],
        **loaded_p99_fields(loaded, open_run, settings.connections),
        "target": (
            f"p50 < {MISS_MAX_P50_MS:g} ms unloaded ({UNLOADED_CONNECTIONS} connection), "
            "no errors; loaded figures are at the given connections"
        ),
        "meets_target": (
            unloaded.p50_ms < MISS_MAX_P50_MS
            and is_clean(unloaded, loaded)
            and not check_problems
            and all_from_db is not False
        ),
    }


def create(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    with context.api_client() as client:
        probe = client.post(
            "/v1/urls",
            json={"original_url": f"https://example.com/{context.run_id}/probe"},
        )
    if probe.status_code != 201 or "short_code" not in probe.json():
        raise RuntimeError(f"POST /v1/urls answered {probe.status_code}: {probe.text}")

    def run(label: str, connections: int, duration_s: float) -> WrkResult:
        directory = context.scratch_dir(f"create_{label}")
        script = write_post_unique_urls_script(
            directory,
            path="/v1/urls",
            url_prefix=f"https://example.com/{context.run_id}/create/{label}/",
            api_key=context.stack.api_key,
        )
        return context.wrk(
            f"{context.stack.api_url}/v1/urls",
            script,
            connections=connections,
            duration_s=duration_s,
        )

    unloaded = run("unloaded", UNLOADED_CONNECTIONS, settings.unloaded_duration_s)
    loaded = run("loaded", settings.connections, settings.duration_s)
    url_prefix = f"https://example.com/{context.run_id}/create/open-loop/"
    open_run = open_loop_at_share(
        context.stack.api_url,
        [
            PlannedRequest("POST", "/v1/urls", 201, {"original_url": f"{url_prefix}{index}"})
            for index in range(round(OPEN_LOOP_SHARE * loaded.rps * settings.duration_s))
        ],
        loaded.rps,
        duration_s=settings.duration_s,
        connections=settings.connections,
        headers=context.stack.auth_headers,
    )
    return {
        **base_line("create", context, loaded.rps),
        **wrk_fields(loaded, settings.connections),
        **unloaded_fields(unloaded, unloaded.rps),
        **loaded_p99_fields(loaded, open_run, settings.connections),
        "api_rss_mb": resident_mb(context.stack.api),
        "postgres_fsync": settings.durable_db,
        "target": (
            f"p50 < {CREATE_MAX_P50_MS:g} ms unloaded ({UNLOADED_CONNECTIONS} connection), "
            "no errors; loaded figures are at the given connections"
        ),
        "meets_target": unloaded.p50_ms < CREATE_MAX_P50_MS and is_clean(unloaded, loaded),
    }


def bulk_1000(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    url_prefix = f"https://example.com/{context.run_id}/bulk/"
    bodies = list(bulk_bodies(url_prefix, settings.bulk_requests + 1))
    with context.api_client() as client:
        warmup = run_bulk_sequence(client, "/v1/urls/bulk", bodies[:1], BULK_SIZE)
        run = run_bulk_sequence(client, "/v1/urls/bulk", bodies[1:], BULK_SIZE)
    p50_ms = percentile(run.latencies_ms, 50)
    failures = warmup.failures + run.failures
    return {
        **base_line("bulk_1000", context, run.rps),
        "latency_method": "sequential httpx requests, nearest-rank percentiles",
        "p50_ms": round(p50_ms, 3),
        "p99_ms": round(percentile(run.latencies_ms, 99), 3),
        "max_ms": round(max(run.latencies_ms), 3),
        "connections": 1,
        "requests": len(run.latencies_ms),
        "urls_per_request": BULK_SIZE,
        "urls_per_s": round(run.urls_per_s, 1),
        "duration_s": round(run.elapsed_s, 3),
        "errors": len(failures),
        "failures": failures[:5],
        "api_rss_mb": resident_mb(context.stack.api),
        "postgres_fsync": settings.durable_db,
        "target": f"p50 < {BULK_MAX_P50_MS:g} ms per {BULK_SIZE}-URL request, all created",
        "meets_target": p50_ms < BULK_MAX_P50_MS and not failures,
    }


def operator_sync(context: ScenarioContext) -> dict[str, Any]:
    """ShortLinks applied to a real kube-apiserver until Ready and servable (its own module)."""
    return operator_sync_line(
        context.stack,
        context.scratch_dir("operator_sync"),
        context.settings.operator_links,
        context.host_busy_percent,
        operator_env=context.settings.service_overrides,
        quick=context.settings.quick,
    )


RUNNERS: dict[str, Callable[[ScenarioContext], dict[str, Any]]] = {
    "redirect_hit": redirect_hit,
    "redirect_miss": redirect_miss,
    "create": create,
    "bulk_1000": bulk_1000,
    "redirect_hit_with_kafka": redirect_hit_with_kafka,
    "analytics_ingest": analytics_ingest,
    "analytics_stats": analytics_stats,
    "operator_sync": operator_sync,
    "redirect_rules": redirect_rules,
    "redirect_limited": redirect_limited,
    "redirect_hit_workers": redirect_hit_workers,
}


def failover(settings: RunSettings, work_dir: Path, busy: float | None) -> dict[str, Any]:
    """kill -9 of the PostgreSQL primary under load, on a stack of its own (its module)."""
    log(f"scenario failover (failoverDelay {settings.failover_delay_s:g} s)")
    return failover_line(work_dir, settings.failover_delay_s, busy)


def cluster_failover(settings: RunSettings, work_dir: Path, busy: float | None) -> dict[str, Any]:
    """The in-chart PostgreSQL's members dying on the one-node cluster (its module)."""
    log(f"scenario cluster_failover ({settings.rounds} rounds)")
    return cluster_failover_line(work_dir, settings.rounds, busy)


def cluster_upgrade(settings: RunSettings, work_dir: Path, busy: float | None) -> dict[str, Any]:
    """helm upgrade to a second image build and helm rollback on the cluster (its module)."""
    log(f"scenario cluster_upgrade ({settings.rounds} rounds)")
    return cluster_upgrade_line(work_dir, settings.rounds, busy)


# Scenarios that bring their own stack (and run only when named).
ON_DEMAND_RUNNERS: dict[str, Callable[[RunSettings, Path, float | None], dict[str, Any]]] = {
    "failover": failover,
    "cluster_failover": cluster_failover,
    "cluster_upgrade": cluster_upgrade,
    "analytics_stats_100m": analytics_stats_100m,
}
