"""Machine concerns: required tools, CPU pinning, ports, readiness waits, logging."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRED_TOOLS = {"wrk": "wrk", "nginx": "nginx-light", "taskset": "util-linux"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class ToolMissing(RuntimeError):
    pass


def ensure_tools() -> None:
    """Make sure wrk, nginx and taskset exist; install them when we are root."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    packages = sorted({REQUIRED_TOOLS[tool] for tool in missing})
    install = ["apt-get", "install", "-y", *packages]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ToolMissing(
            f"missing {', '.join(missing)}: run `apt-get install {' '.join(packages)}` (as root)"
        )
    log(f"installing {' '.join(packages)} ...")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=environment, timeout=600)
    subprocess.run(install, check=True, env=environment, timeout=600)
    still_missing = [tool for tool in missing if shutil.which(tool) is None]
    if still_missing:
        raise ToolMissing(f"still missing after install: {', '.join(still_missing)}")


@dataclass(frozen=True)
class CpuPlan:
    """Servers on one core, the load generator on another, so they never share."""

    server_cpus: str | None
    client_cpus: str | None

    @classmethod
    def detect(cls) -> CpuPlan:
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            log("warning: fewer than 2 CPUs available; running without pinning")
            return cls(None, None)
        return cls(str(available[0]), str(available[1]))


def every_cpu() -> str:
    """All CPUs, for parts that stand for other machines in production (a ClickHouse
    server, a Kubernetes control plane): pinned with the client, they would measure
    the pinning."""
    return ",".join(str(cpu) for cpu in range(os.cpu_count() or 1))


def pinned(command: list[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus is not None else command


@contextlib.contextmanager
def cpu_affinity(cpus: str | None) -> Iterator[None]:
    """Run the block with this process pinned, so children forked inside inherit the pin."""
    if cpus is None:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Poll ``url`` until it answers (any status below 500) or the process dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0, follow_redirects=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from the first line of /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy_percent(interval_s: float = 1.0) -> float | None:
    """How busy the machine is before we start: other load skews every figure."""
    try:
        busy_before, total_before = cpu_times()
        time.sleep(interval_s)
        busy_after, total_after = cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total_after - total_before
    return round(100 * (busy_after - busy_before) / elapsed, 1) if elapsed else None
