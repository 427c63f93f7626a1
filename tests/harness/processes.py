"""Child processes that log to a file and are waited on until ready."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

STARTUP_TIMEOUT = 30.0
POLL_INTERVAL = 0.05


class HarnessError(RuntimeError):
    """A test server or service failed to start or stop."""


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until_ready(
    ready: Callable[[], bool],
    *,
    process: subprocess.Popen[bytes],
    log_path: Path,
    what: str,
    timeout: float = STARTUP_TIMEOUT,
) -> None:
    """Poll `ready` until it returns True; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise HarnessError(
                f"{what} exited with code {process.returncode} during startup; "
                f"log {log_path}:\n{log_tail(log_path)}"
            )
        if ready():
            return
        if time.monotonic() > deadline:
            raise HarnessError(
                f"{what} not ready after {timeout:.0f}s; log {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(POLL_INTERVAL)


def stop_process(
    process: subprocess.Popen[bytes],
    stop_signal: signal.Signals = signal.SIGTERM,
    timeout: float = 10.0,
) -> int:
    """Signal `process`, wait for it, then SIGKILL its whole process group.

    Requires the process to lead its own session (start_new_session=True),
    so that the kill also reaches workers it forked.
    """
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait()
    _kill_group(process.pid)
    return process.returncode


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def resolve_executable(name: str) -> str:
    """Prefer a bare command installed beside the running interpreter (the venv)."""
    if os.sep in name:
        return name
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def hermetic_environ(prefixes: tuple[str, ...]) -> dict[str, str]:
    """os.environ without variables that would leak a developer's setup into tests."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def launch(
    command: list[str],
    *,
    log_path: Path,
    ready: Callable[[], bool],
    what: str,
    timeout: float,
    on_failure: Callable[[], None],
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """Start `command` in its own session, logging to `log_path`, and wait until
    `ready()`; on any failure call `on_failure` (the caller's stop) and re-raise."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )
    try:
        wait_until_ready(ready, process=process, log_path=log_path, what=what, timeout=timeout)
    except BaseException:
        process.kill()
        process.wait()
        on_failure()
        raise
    return process


class Managed:
    """`with server:` starts it and always stops it."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ServiceProcess(Managed):
    """A long-running HTTP service, ready once GET /healthz answers 200 on its ops
    port (``ops_port``; the service port itself for the components that have only one).

    `env` is laid over the current environment minus any SHORTLINK_* variables.
    """

    def __init__(
        self,
        command: list[str],
        *,
        env: Mapping[str, str],
        port: int,
        log_dir: Path,
        ops_port: int | None = None,
        name: str | None = None,
        health_path: str = "/healthz",
        startup_timeout: float = STARTUP_TIMEOUT,
        stop_timeout: float = 10.0,
    ) -> None:
        self.command = [resolve_executable(command[0]), *command[1:]]
        self.env = {**hermetic_environ(("SHORTLINK_",)), **env}
        self.port = port
        self.ops_port = ops_port or port
        self.name = name or f"{Path(command[0]).name}-{'-'.join(command[1:2])}-{port}"
        self.log_path = log_dir / f"{self.name}.log"
        self.health_path = health_path
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ops_url(self) -> str:
        """Where /healthz, /readyz and /metrics are served."""
        return f"http://127.0.0.1:{self.ops_port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = launch(
            self.command,
            log_path=self.log_path,
            ready=self._healthy,
            what=" ".join(self.command),
            timeout=self.startup_timeout,
            on_failure=self.stop,
            env=self.env,
        )

    def _healthy(self) -> bool:
        try:
            response = httpx.get(self.ops_url + self.health_path, timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, self.stop_timeout)
            self.process = None

    def log(self) -> str:
        return log_tail(self.log_path, lines=10_000)
