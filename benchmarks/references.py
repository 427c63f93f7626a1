"""Reference servers measured in the same run: the bare Sanic floor and a static nginx 302."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.config import RunSettings
from benchmarks.host import (
    REPO_ROOT,
    log,
    pinned,
    stop_process,
    wait_for_http,
)
from benchmarks.lua import write_cycle_paths_script, write_post_unique_urls_script
from benchmarks.sequential import BULK_SIZE, bulk_bodies, percentile, run_bulk_sequence
from benchmarks.wrk import run_wrk
from tests.harness import free_port

NGINX_REDIRECT_TARGET = "https://example.com/"
WARMUP_S = 1.0

_NGINX_CONF = """\
{user_line}daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    # nginx-light's compiled-in temp dirs live under /var/lib/nginx; keep ours private.
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;

    server {{
        listen 127.0.0.1:{port};
        location / {{
            return 302 {target};
        }}
    }}
}}
"""


def nginx_config(tmp: Path, port: int) -> str:
    # As root nginx would switch to "nobody" for workers; stay as ourselves instead.
    user_line = "user root;\n" if os.geteuid() == 0 else ""
    return _NGINX_CONF.format(user_line=user_line, tmp=tmp, port=port, target=NGINX_REDIRECT_TARGET)


@contextlib.contextmanager
def nginx_server(work_dir: Path, cpus: str | None) -> Iterator[str]:
    """Yield the base URL of a foreground nginx answering every request with a 302."""
    tmp = work_dir / "nginx"
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_config(tmp, port))
    command = pinned(["nginx", "-p", str(tmp), "-c", str(conf)], cpus)
    with (tmp / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/healthz", process)
        log(f"nginx reference on {base_url}")
        yield base_url
    except Exception:
        log((tmp / "stderr.log").read_text() + _read_if_exists(tmp / "error.log"))
        raise
    finally:
        stop_process(process)


@contextlib.contextmanager
def bare_sanic_server(work_dir: Path, codes_file: Path | None, cpus: str | None) -> Iterator[str]:
    """Yield the base URL of the bare Sanic floor app serving 302s for ``codes_file``."""
    with bare_sanic_process(work_dir, codes_file, cpus) as (base_url, _):
        yield base_url


@contextlib.contextmanager
def bare_sanic_process(
    work_dir: Path, codes_file: Path | None, cpus: str | None
) -> Iterator[tuple[str, int]]:
    """Yield the bare Sanic floor's base URL and process id (taskset execs the server)."""
    with _floor_process("bare_sanic", "bare Sanic", work_dir, codes_file, cpus) as floor:
        yield floor


@contextlib.contextmanager
def raw_floor_process(
    work_dir: Path, codes_file: Path | None, cpus: str | None
) -> Iterator[tuple[str, int]]:
    """Yield the raw uvloop floor's base URL and process id (``benchmarks/raw_floor.py``)."""
    with _floor_process("raw_floor", "raw uvloop", work_dir, codes_file, cpus) as floor:
        yield floor


@contextlib.contextmanager
def _floor_process(
    module: str, label: str, work_dir: Path, codes_file: Path | None, cpus: str | None
) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, "-m", f"benchmarks.{module}", str(port)]
    if codes_file is not None:
        command.append(str(codes_file))
    log_path = work_dir / f"{module}_{port}.log"
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            pinned(command, cpus), stdout=output, stderr=output, cwd=REPO_ROOT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/healthz", process)
        log(f"{label} reference on {base_url}")
        yield base_url, process.pid
    except Exception:
        log(log_path.read_text())
        raise
    finally:
        stop_process(process)


def _read_if_exists(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@dataclass(frozen=True)
class Reference:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class References:
    nginx: Reference
    # Scenario name -> the bare Sanic floor measured the same way as that scenario.
    floors: dict[str, Reference]


def synthetic_codes_file(directory: Path, count: int) -> Path:
    """Codes shaped like real ones (7 characters), for the floor app's dict."""
    path = directory / "reference_codes.txt"
    path.write_text("".join(f"r{index:06d}\n" for index in range(count)))
    return path


def measure_references(scenarios: list[str], settings: RunSettings, work_dir: Path) -> References:
    """nginx always (every line reports it); each bare Sanic floor the scenarios need."""
    cpus = settings.cpus
    codes_file = synthetic_codes_file(work_dir, settings.hit_links)
    cycle_script = write_cycle_paths_script(work_dir, codes_file)

    def wrk_reference(name: str, base_url: str, script: Path) -> Reference:
        log(f"reference {name}")
        result = run_wrk(
            f"{base_url}/",
            duration_s=settings.duration_s,
            connections=settings.connections,
            script=script,
            client_cpus=cpus.client_cpus,
            warmup_s=WARMUP_S,
        )
        if result.errors or result.non_2xx_3xx:
            raise RuntimeError(f"reference {name} had errors: {result}")
        return Reference(name, result.rps, result.p50_ms, result.p99_ms)

    with nginx_server(work_dir, cpus.server_cpus) as nginx_url:
        nginx = wrk_reference("nginx_302", nginx_url, cycle_script)

    floors: dict[str, Reference] = {}
    with bare_sanic_server(work_dir, codes_file, cpus.server_cpus) as sanic_url:
        # redirect_hit measures its floor alternated with itself (benchmarks/alternation.py).
        if "redirect_miss" in scenarios:
            floors["redirect_miss"] = wrk_reference("bare_sanic_302", sanic_url, cycle_script)
        if "create" in scenarios:
            post_script = write_post_unique_urls_script(
                work_dir,
                path="/v1/urls",
                url_prefix="https://example.com/floor/",
                api_key="floor",
            )
            floors["create"] = wrk_reference("bare_sanic_create", sanic_url, post_script)
        if "bulk_1000" in scenarios:
            floors["bulk_1000"] = bulk_reference(sanic_url, settings.bulk_requests)
    return References(nginx=nginx, floors=floors)


def bulk_reference(base_url: str, requests: int) -> Reference:
    log("reference bare_sanic_bulk_1000")
    bodies = list(bulk_bodies("https://example.com/floor/", requests + 1))
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        run_bulk_sequence(client, "/v1/urls/bulk", bodies[:1], BULK_SIZE)  # warm-up
        run = run_bulk_sequence(client, "/v1/urls/bulk", bodies[1:], BULK_SIZE)
    if run.failures:
        raise RuntimeError(f"reference bare_sanic_bulk_1000 failed: {run.failures[:3]}")
    return Reference(
        "bare_sanic_bulk_1000",
        run.rps,
        percentile(run.latencies_ms, 50),
        percentile(run.latencies_ms, 99),
    )
