"""The four scenarios against the running stack; each returns one JSON-ready line."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.config import RunSettings
from benchmarks.host import log
from benchmarks.lua import (
    write_cycle_paths_script,
    write_each_path_once_script,
    write_post_unique_urls_script,
)
from benchmarks.references import Reference, References
from benchmarks.sequential import (
    BULK_SIZE,
    bulk_bodies,
    created_codes,
    percentile,
    run_bulk_sequence,
)
from benchmarks.stack import Stack
from benchmarks.wrk import WrkResult, run_wrk

UNLOADED_CONNECTIONS = 1
HIT_MIN_RATIO = 0.8
HIT_MAX_P99_MS = 10.0
MISS_MAX_P50_MS = 3.0
CREATE_MAX_P50_MS = 5.0
BULK_MAX_P50_MS = 200.0
# Codes kept out of the miss run and followed first, to check redirects still work after FLUSHALL.
MISS_CHECK_CODES = 20


@dataclass(frozen=True)
class ScenarioContext:
    stack: Stack
    settings: RunSettings
    references: References
    work_dir: Path
    # Unique per run, so created URLs never collide with an earlier run's.
    run_id: str

    def api_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.stack.api_url, headers=self.stack.auth_headers, timeout=60.0
        )

    def scratch_dir(self, name: str) -> Path:
        directory = self.work_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def wrk(self, url: str, script: Path, *, connections: int, duration_s: float) -> WrkResult:
        return run_wrk(
            url,
            duration_s=duration_s,
            connections=connections,
            script=script,
            client_cpus=self.settings.cpus.client_cpus,
        )


def base_line(scenario: str, context: ScenarioContext, rps: float) -> dict[str, Any]:
    floor: Reference = context.references.floors[scenario]
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
    }


def wrk_fields(result: WrkResult, connections: int) -> dict[str, Any]:
    return {
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


def is_clean(*results: WrkResult) -> bool:
    return all(result.errors == 0 and result.non_2xx_3xx == 0 for result in results)


def write_codes(path: Path, codes: list[str]) -> Path:
    path.write_text("".join(f"{code}\n" for code in codes))
    return path


def follow_each(redirector_url: str, links: list[tuple[str, str]]) -> list[str]:
    """GET each code once; return a description of every answer that is not the expected 302."""
    problems = []
    with httpx.Client(base_url=redirector_url, timeout=10.0) as client:
        for code, original_url in links:
            response = client.get(f"/{code}")
            location = response.headers.get("location")
            if response.status_code != 302 or location != original_url:
                problems.append(f"/{code}: HTTP {response.status_code} location={location!r}")
    return problems


def create_links_one_by_one(context: ScenarioContext, count: int) -> list[tuple[str, str]]:
    links = []
    with context.api_client() as client:
        for index in range(count):
            original_url = f"https://example.com/{context.run_id}/hit/{index}"
            response = client.post("/v1/urls", json={"original_url": original_url})
            if response.status_code != 201:
                raise RuntimeError(
                    f"POST /v1/urls answered {response.status_code}: {response.text}"
                )
            links.append((response.json()["short_code"], original_url))
    return links


def create_links_in_bulk(context: ScenarioContext, count: int) -> list[tuple[str, str]]:
    requests = -(-count // BULK_SIZE)
    url_prefix = f"https://example.com/{context.run_id}/miss/"
    links: list[tuple[str, str]] = []
    with context.api_client() as client:
        for index, body in enumerate(bulk_bodies(url_prefix, requests)):
            response = client.post(
                "/v1/urls/bulk",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            if response.status_code != 201:
                raise RuntimeError(
                    f"bulk create answered {response.status_code}: {response.text[:500]}"
                )
            links += created_codes(response)
            if (index + 1) % 20 == 0:
                log(f"  created {len(links)} links")
    return links


def redirect_hit(context: ScenarioContext) -> dict[str, Any]:
    settings = context.settings
    links = create_links_one_by_one(context, settings.hit_links)
    warmup_problems = follow_each(context.stack.redirector_url, links)
    codes_file = write_codes(context.work_dir / "hit_codes.txt", [code for code, _ in links])
    result = context.wrk(
        f"{context.stack.redirector_url}/",
        write_cycle_paths_script(context.scratch_dir("hit"), codes_file),
        connections=settings.connections,
        duration_s=settings.duration_s,
    )
    line = base_line("redirect_hit", context, result.rps)
    meets = (
        line["ratio"] >= HIT_MIN_RATIO
        and result.p99_ms < HIT_MAX_P99_MS
        and is_clean(result)
        and not warmup_problems
    )
    return {
        **line,
        **wrk_fields(result, settings.connections),
        "links": len(links),
        "warmup_problems": warmup_problems[:5],
        "target": (
            f"rps >= {HIT_MIN_RATIO}x bare Sanic 302 and p99 < {HIT_MAX_P99_MS:g} ms "
            f"at {settings.connections} connections, no errors"
        ),
        "meets_target": meets,
    }


def exhausted(result: WrkResult) -> bool:
    return int(result.script_fields.get("exhausted_threads", "0")) > 0


def active_seconds(result: WrkResult) -> float:
    """wrk's duration stays the full -d even when the script stopped early; use the script's clock."""
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

    # Separate codes for the two runs, so no code is ever requested twice.
    unloaded_share = round(
        len(miss_codes)
        * settings.unloaded_duration_s
        / (settings.unloaded_duration_s + settings.miss_duration_s)
    )
    runs = []
    for label, codes, connections, duration_s in (
        (
            "unloaded",
            miss_codes[:unloaded_share],
            UNLOADED_CONNECTIONS,
            settings.unloaded_duration_s,
        ),
        ("loaded", miss_codes[unloaded_share:], settings.connections, settings.miss_duration_s),
    ):
        directory = context.scratch_dir(f"miss_{label}")
        script = write_each_path_once_script(directory, write_codes(directory / "codes.txt", codes))
        runs.append(
            context.wrk(
                f"{context.stack.redirector_url}/",
                script,
                connections=connections,
                duration_s=duration_s,
            )
        )
    unloaded, loaded = runs
    return {
        **base_line("redirect_miss", context, active_rps(loaded)),
        **wrk_fields(loaded, settings.connections),
        "duration_s": active_seconds(loaded),
        **unloaded_fields(unloaded, active_rps(unloaded)),
        "unique_misses": loaded.requests + unloaded.requests,
        "codes_available": len(miss_codes),
        "codes_exhausted": exhausted(loaded),
        "unloaded_codes_exhausted": exhausted(unloaded),
        "redis_keys_after": context.stack.redis.command("DBSIZE").lstrip(":"),
        "check_problems": check_problems[:5],
        "target": (
            f"p50 < {MISS_MAX_P50_MS:g} ms unloaded ({UNLOADED_CONNECTIONS} connection), "
            "no errors; loaded figures are at the given connections"
        ),
        "meets_target": (
            unloaded.p50_ms < MISS_MAX_P50_MS and is_clean(unloaded, loaded) and not check_problems
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
    return {
        **base_line("create", context, loaded.rps),
        **wrk_fields(loaded, settings.connections),
        **unloaded_fields(unloaded, unloaded.rps),
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
        "postgres_fsync": settings.durable_db,
        "target": f"p50 < {BULK_MAX_P50_MS:g} ms per {BULK_SIZE}-URL request, all created",
        "meets_target": p50_ms < BULK_MAX_P50_MS and not failures,
    }


RUNNERS: dict[str, Callable[[ScenarioContext], dict[str, Any]]] = {
    "redirect_hit": redirect_hit,
    "redirect_miss": redirect_miss,
    "create": create,
    "bulk_1000": bulk_1000,
}


def new_run_id() -> str:
    return secrets.token_hex(4)
