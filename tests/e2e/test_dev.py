"""`shortlink dev`: embedded PostgreSQL + Redis + chDB, nothing pre-installed, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.harness import free_port
from tests.harness.processes import hermetic_environ
from tests.support.waiting import wait_for

# In the environment of `shortlink dev` and so of every process it starts (PostgreSQL,
# Redis, the components): what this test started, told apart from the servers of
# anything else running on the machine.
RUN_MARK = f"DEV_TEST_RUN=shortlink-dev-test-{os.getpid()}"


def start_dev(
    data_dir: Path, api_port: int, redirector_port: int, ops_ports: tuple[int, int], log: Path
) -> subprocess.Popen[bytes]:
    shortlink = str(Path(sys.executable).parent / "shortlink")
    command = [shortlink, "dev", "--data-dir", str(data_dir)]
    command += ["--api-port", str(api_port), "--redirector-port", str(redirector_port)]
    command += ["--api-ops-port", str(ops_ports[0]), "--redirector-ops-port", str(ops_ports[1])]
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env={**hermetic_environ(("SHORTLINK_",)), **dict([RUN_MARK.split("=", 1)])},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(*urls: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90  # first start runs initdb
    for url in urls:
        while True:
            assert process.poll() is None, f"dev exited early:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{url} never healthy:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)


# A person's browser (httpx's own user agent counts as a bot), from an address in
# the United Kingdom in every GeoIP database.
BROWSER_IN_GB = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "X-Forwarded-For": "81.2.69.142",
}


def wait_for_clicks(url: str, key: str, clicks: int, within: float = 30.0) -> dict[str, Any]:
    """Poll the stats API until it counts ``clicks`` (analytics is asynchronous)."""

    def counted() -> dict[str, Any] | None:
        response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert response.status_code == 200, response.text
        stats: dict[str, Any] = response.json()
        assert stats["totals"]["clicks"] <= clicks, stats["totals"]
        return stats if stats["totals"]["clicks"] == clicks else None

    return wait_for(f"{clicks} clicks in the stats", counted, within)


def stop_with_ctrl_c(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def servers_running(data: Path) -> dict[str, str]:
    """pid → command line of every PostgreSQL, Redis and shortlink process alive now
    that this test's `shortlink dev` started (zombies excluded: they are dead, just not
    yet reaped by their parent): RUN_MARK in its environment, or, for redis-server
    (its process title overwrites the environment), its working directory in `data`."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        proc = Path("/proc", pid)
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            ours = RUN_MARK.encode() in (proc / "environ").read_bytes().split(b"\0")
            ours = ours or (proc / "cwd").resolve().is_relative_to(data)
        except OSError:
            continue
        if (
            ours
            and state != "Z"
            and any(name in cmdline for name in ("postgres", "redis-server", "shortlink"))
        ):
            found[pid] = cmdline
    return found


def test_dev_runs_everything_and_keeps_data(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "dev.log"
    api_port, redirector_port = free_port(), free_port()
    api, redirector = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{redirector_port}"
    ops_ports = free_port(), free_port()
    ready = [f"http://127.0.0.1:{port}/readyz" for port in ops_ports]

    dev = start_dev(data, api_port, redirector_port, ops_ports, log)
    try:
        wait_healthy(*ready, process=dev, log=log)
        running = " | ".join(servers_running(data).values())
        for server in ("postgres", "redis-server", "shortlink api", "shortlink redirector"):
            assert server in running, running  # what the check after Ctrl-C would see
        key = (data / "api_key").read_text().strip()
        assert key in log.read_text()  # the banner tells the user which key to use
        assert f"Web UI      http://127.0.0.1:{api_port}/" in log.read_text()
        assert "<title>Shortlink</title>" in httpx.get(f"{api}/").text
        assert httpx.get(f"{api}/ui/vendor/uPlot.iife.min.js").status_code == 200
        created = httpx.post(
            f"{api}/v1/urls",
            json={"original_url": "https://example.com/dev"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert created.status_code == 201
        code = created.json()["short_code"]
        assert created.json()["short_url"] == f"{redirector}/{code}"
        visit = httpx.get(f"{redirector}/{code}", headers=BROWSER_IN_GB)
        assert visit.headers["location"] == "https://example.com/dev"
        stats = wait_for_clicks(f"{api}/v1/urls/{code}/stats", key, clicks=1)
        assert stats["countries"] == [{"value": "GB", "clicks": 1}]  # loopback trusts XFF
    finally:
        status = stop_with_ctrl_c(dev)
    assert status == 0
    assert servers_running(data) == {}  # PostgreSQL, Redis and both components are gone

    again = start_dev(data, api_port, redirector_port, ops_ports, log)
    try:
        wait_healthy(*ready, process=again, log=log)
        assert httpx.get(f"{redirector}/{code}", headers=BROWSER_IN_GB).status_code == 302
        wait_for_clicks(f"{api}/v1/urls/{code}/stats", key, clicks=2)  # old clicks kept too
    finally:
        assert stop_with_ctrl_c(again) == 0


def banner_and_log(output: str) -> tuple[list[str], list[str]]:
    """The banner's lines (between its first and last line) and every other line."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Shortlink dev is running"))
    end = next(i for i, line in enumerate(lines) if i > start and "plain curl" in line)
    return lines[start : end + 1], [line for line in lines[:start] + lines[end + 1 :] if line]


def test_the_log_is_json_and_names_what_is_down(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "dev.log"
    ops_ports = free_port(), free_port()
    dev = start_dev(data, free_port(), free_port(), ops_ports, log)
    try:
        wait_healthy(*(f"http://127.0.0.1:{p}/readyz" for p in ops_ports), process=dev, log=log)
        time.sleep(1)  # the components' first readiness probes
    finally:
        assert stop_with_ctrl_c(dev) == 0
    banner, others = banner_and_log(log.read_text())
    assert banner
    for line in others:
        entry = json.loads(line)  # Sanic's lines and warnings too: one JSON object each
        if entry["msg"].startswith("dependency is"):
            assert entry["msg"].endswith(entry["dependency"]), entry
    assert "XDG_RUNTIME_DIR" not in log.read_text()


def test_a_busy_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "dev.log"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        dev = start_dev(data, free_port(), taken, (free_port(), free_port()), log)
        status = dev.wait(timeout=60)
    output = log.read_text()
    assert status != 0, output
    assert f"port {taken}" in output and "--redirector-port" in output, output
    assert "Traceback" not in output and "is running" not in output, output
    assert not (data / "postgres").exists()  # nothing was started


def test_help_needs_no_install(tmp_path: Path) -> None:
    """On a fresh clone ``scripts/dev --help`` answers at once: no venv, no pip."""
    repo = Path(__file__).resolve().parents[2]
    clone = tmp_path / "clone"
    for part in ("scripts", "core", "pyproject.toml"):
        source = repo / part
        if source.is_dir():
            shutil.copytree(source, clone / part)
        else:
            shutil.copy(source, clone / part)
    started = time.monotonic()
    shown = subprocess.run(
        ["bash", str(clone / "scripts" / "dev"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"]},
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "--redirector-port" in shown.stdout and "--data-dir" in shown.stdout
    assert time.monotonic() - started < 5
    assert not (clone / ".venv").exists()
