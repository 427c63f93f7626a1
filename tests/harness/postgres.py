"""A private PostgreSQL server on loopback, from the Debian packages' binaries."""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

from tests.harness.ports import free_port
from tests.harness.processes import (
    STARTUP_TIMEOUT,
    HarnessError,
    Managed,
    hermetic_environ,
    launch,
    stop_process,
)

SUPERUSER = "shortlink"
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
# PostgreSQL refuses to run as root; this user comes with the Debian package.
UNPRIVILEGED_USER = "postgres"
# Durability is pointless for throwaway test clusters and costs seconds per run.
FAST_UNSAFE_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_bin_dir() -> Path:
    """The bin dir of the newest PostgreSQL under /usr/lib/postgresql."""
    versions = [
        path
        for path in DEBIAN_PG_ROOT.glob("*")
        if path.name.isdigit() and (path / "bin" / "postgres").exists()
    ]
    if not versions:
        raise HarnessError(f"no PostgreSQL server under {DEBIAN_PG_ROOT}; install 'postgresql'")
    return max(versions, key=lambda path: int(path.name)) / "bin"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer(Managed):
    """initdb + postgres in `base_dir`; superuser `shortlink`, trust auth, TCP on 127.0.0.1.

    `start()` skips initdb when `base_dir/data` already holds a cluster, so a
    data dir made by pg_basebackup (a replica) starts the same way.
    """

    def __init__(
        self,
        base_dir: Path,
        port: int | None = None,
        *,
        fast_unsafe: bool = True,
        settings: dict[str, str] | None = None,
        bin_dir: Path | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.base_dir = base_dir.absolute()
        self.port = port or free_port()
        self.bin_dir = bin_dir or find_bin_dir()
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "run"
        self.log_path = self.base_dir / "postgres.log"
        self.settings = {**(FAST_UNSAFE_SETTINGS if fast_unsafe else {}), **(settings or {})}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._owner = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        # Stray PG* variables (PGHOST, PGDATA, ...) would redirect the binaries.
        self._env = hermetic_environ(("PG",))

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._prepare_base_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self.initdb()
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        command += ["-k", str(self.socket_dir), "-c", "listen_addresses=127.0.0.1"]
        for key, value in self.settings.items():
            command += ["-c", f"{key}={value}"]
        self.process = launch(
            command,
            log_path=self.log_path,
            ready=self.is_ready,
            what=f"postgres on port {self.port}",
            timeout=self.startup_timeout,
            on_failure=self.stop,
            **self._owner_kwargs(),
        )

    def initdb(self) -> None:
        self._run_as_owner(
            [
                str(self.bin_dir / "initdb"),
                *("-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust"),
                *("-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"),
            ]
        )

    def is_ready(self) -> bool:
        probe = [str(self.bin_dir / "pg_isready"), "-q", "-t", "1"]
        probe += ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"]
        return subprocess.run(probe, env=self._env, check=False).returncode == 0

    def stop(self, *, immediate: bool = False, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT); `immediate` (SIGQUIT) behaves like a crash."""
        if self.process is not None:
            stop_process(self.process, signal.SIGQUIT if immediate else signal.SIGINT, timeout)
            self.process = None

    def execute(self, sql: str, database: str = "postgres", timeout: float = 30.0) -> str:
        """Run SQL through psql; returns unaligned, tuples-only output.

        Bounded by `timeout`: a commit waiting for a synchronous standby that
        never comes must fail the test, not hang it."""
        command = [str(self.bin_dir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database]
        try:
            result = subprocess.run(
                [*command, "-c", sql],
                env=self._env,
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(
                f"psql on port {self.port} timed out after {timeout}s: {sql!r}"
            ) from exc
        if result.returncode != 0:
            raise HarnessError(f"psql failed ({result.returncode}) on {sql!r}: {result.stderr}")
        return result.stdout.strip()

    def create_database(self, name: str, template: str | None = None) -> str:
        sql = f"CREATE DATABASE {quote_ident(name)}"
        if template is not None:
            sql += f" TEMPLATE {quote_ident(template)}"
        self.execute(sql)
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        # FORCE: a test that leaked a pool connection must not break cleanup.
        self.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")

    def _owner_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"env": self._env, "cwd": self.base_dir}
        if self._owner is not None:
            kwargs |= {"user": self._owner.pw_uid, "group": self._owner.pw_gid}
            kwargs["extra_groups"] = []
        return kwargs

    def _run_as_owner(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a server-side binary (initdb, pg_basebackup, pg_ctl, ...) as the cluster owner."""
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, **self._owner_kwargs()
        )
        if result.returncode != 0:
            raise HarnessError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def _prepare_base_dir(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._owner is None:
            return
        for path in (self.base_dir, self.socket_dir):
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        # The unprivileged owner must be able to reach base_dir, e.g. through
        # pytest's 0700 /tmp/pytest-of-root; search permission is enough.
        for parent in self.base_dir.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
