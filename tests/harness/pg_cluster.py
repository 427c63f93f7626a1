"""A replicated PostgreSQL cluster on loopback: one primary, N streaming standbys.

Built from the same Debian binaries as `PostgresServer` (each member is one),
for failover tests: kill -9, freeze (SIGSTOP), a lagging standby, promotion,
repointing and rejoining an old primary with pg_rewind.

Settings the operator changes at run time (synchronous_standby_names,
primary_conninfo, default_transaction_read_only, ...) live in the data dir's
config files, never on the postgres command line: a `-c` there would beat
ALTER SYSTEM. fsync stays off for speed (the page cache survives a kill -9 of
postgres; only an OS crash would lose it), but commits are really synchronous:
`synchronous_commit=on` with a `synchronous_standby_names` quorum.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.harness.postgres import SUPERUSER, PostgresServer
from tests.harness.processes import POLL_INTERVAL, HarnessError

HOST = "127.0.0.1"
DATABASE = "shortlink"
WAIT_TIMEOUT = 30.0

# Shared by every member (pg_basebackup and pg_rewind copy postgresql.conf).
CLUSTER_SETTINGS = {
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "wal_log_hints": "on",  # pg_rewind needs it (or data checksums)
    "full_page_writes": "on",  # pg_rewind needs it too
    "fsync": "off",
    "synchronous_commit": "on",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "wal_keep_size": "128MB",  # a rejoining member still finds its fork point
    # Fast reactions: lag shows within a second, a dead peer within seconds,
    # a repointed standby reconnects at once.
    "wal_receiver_status_interval": "1s",
    "wal_sender_timeout": "5s",
    "wal_receiver_timeout": "5s",
    "wal_retrieve_retry_interval": "500ms",
    "shared_buffers": "16MB",  # many clusters on a small shared machine
    "max_connections": "100",
    "log_min_messages": "warning",
}


def _conf_line(key: str, value: str) -> str:
    return f"{key} = '{value.replace(chr(39), chr(39) * 2)}'\n"


def _write_settings(path: Path, settings: dict[str, str]) -> None:
    """Set `settings` in a postgresql(.auto).conf, replacing earlier lines of those keys."""
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in settings]
    path.write_text("".join(kept) + "".join(_conf_line(k, v) for k, v in settings.items()))


def conninfo(host: str, port: int, **extra: str) -> str:
    """A libpq key=value connection string to a member."""
    params = {"host": host, "port": str(port), "user": SUPERUSER, **extra}
    return " ".join(f"{key}={value}" for key, value in params.items())


class ClusterTemplate:
    """One initdb per session (plus `prepare`, e.g. migrations), stopped and
    copied for every cluster's primary: a new cluster costs a copy, not an initdb."""

    def __init__(
        self, base_dir: Path, prepare: Callable[[PostgresServer], None] | None = None
    ) -> None:
        self.server = PostgresServer(base_dir)
        self.prepare = prepare

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def build(self) -> ClusterTemplate:
        with self.server:
            self.server.create_database(DATABASE)
            if self.prepare is not None:
                self.prepare(self.server)
        return self


class ClusterMember(PostgresServer):
    """One member, named like its replication slot and application_name."""

    def __init__(self, name: str, base_dir: Path) -> None:
        # Nothing on the command line but port and socket: see the module docstring.
        super().__init__(base_dir, fast_unsafe=False)
        self.name = name
        self.host = HOST
        self.upstream: ClusterMember | None = None  # who this standby streams from
        self.frozen = False

    def dsn_for(self, database: str = DATABASE) -> str:
        return super().dsn_for(database)

    # -- data dirs -----------------------------------------------------------

    def copy_data_dir(self, source: Path) -> None:
        self._prepare_base_dir()
        self._run_as_owner(["cp", "-a", str(source), str(self.data_dir)])

    def base_backup(self, source: ClusterMember, *, create_slot: bool) -> None:
        """A fresh data dir from `source` (running), streaming under our slot."""
        self._prepare_base_dir()
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        command = [str(self.bin_dir / "pg_basebackup"), "-d", conninfo(source.host, source.port)]
        command += ["-D", str(self.data_dir), "--checkpoint=fast", "-X", "stream", "--no-sync"]
        command += ["-S", self.name] + (["-C"] if create_slot else [])
        self._run_as_owner(command)

    def configure_standby_of(self, upstream: ClusterMember) -> None:
        """While stopped: stream from `upstream` on start."""
        (self.data_dir / "standby.signal").touch()
        os.chown(self.data_dir / "standby.signal", *self._ids())
        self._write_auto_conf(self._standby_settings(upstream))
        self.upstream = upstream

    def _standby_settings(self, upstream: ClusterMember) -> dict[str, str]:
        return {
            "primary_conninfo": conninfo(
                upstream.host, upstream.port, application_name=self.name, connect_timeout="2"
            ),
            "primary_slot_name": self.name,
        }

    def _write_auto_conf(self, settings: dict[str, str]) -> None:
        path = self.data_dir / "postgresql.auto.conf"
        _write_settings(path, settings)
        os.chown(path, *self._ids())

    def _ids(self) -> tuple[int, int]:
        owner = self._owner
        return (owner.pw_uid, owner.pw_gid) if owner else (os.getuid(), os.getgid())

    # -- faults --------------------------------------------------------------

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.process is None:
            raise HarnessError(f"{self.name} is not running")
        os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """kill -9 the postmaster and every backend: a crashed node."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait()
        self.process = None
        self.frozen = False

    def freeze(self) -> None:
        """SIGSTOP every process of the member: alive to TCP, answering nothing."""
        self._signal_group(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        self._signal_group(signal.SIGCONT)
        self.frozen = False

    def stop(self, *, immediate: bool = False, timeout: float = 30.0) -> None:
        if self.frozen:
            self.thaw()
        super().stop(immediate=immediate, timeout=timeout)

    def restart(self, *, immediate: bool = False) -> None:
        self.stop(immediate=immediate)
        self.start()

    def stop_wal_receiver(self) -> None:
        """A lagging standby: stop streaming (an empty primary_conninfo) until resumed."""
        self.alter_system({"primary_conninfo": ""})
        self._wait(
            lambda: self.execute("SELECT count(*) FROM pg_stat_wal_receiver") == "0",
            "WAL receiver to stop",
        )

    def resume_wal_receiver(self) -> None:
        if self.upstream is None:
            raise HarnessError(f"{self.name} has no upstream to resume streaming from")
        self.follow(self.upstream)

    # -- roles ---------------------------------------------------------------

    def in_recovery(self) -> bool:
        return self.execute("SELECT pg_is_in_recovery()") == "t"

    def promote(self) -> None:
        if self.execute("SELECT pg_promote(true, 30)") != "t":
            raise HarnessError(f"pg_promote on {self.name} did not finish")
        self.upstream = None

    def follow(self, upstream: ClusterMember) -> None:
        """While running: stream from `upstream` (which gets our slot if it lacks it)."""
        upstream.ensure_slot(self.name)
        self.alter_system(self._standby_settings(upstream))
        self.upstream = upstream

    def alter_system(self, settings: dict[str, str]) -> None:
        """ALTER SYSTEM each setting (one statement per call: psql -c would wrap
        several in a transaction, which ALTER SYSTEM refuses), then reload."""
        for key, value in settings.items():
            self.execute(f"ALTER SYSTEM SET {key} = {_quote(value)}")
        self.execute("SELECT pg_reload_conf()")

    def ensure_slot(self, name: str) -> None:
        self.execute(
            "SELECT pg_create_physical_replication_slot(slot_name, true) FROM"
            f" (SELECT {_quote(name)} AS slot_name) s WHERE NOT EXISTS"
            " (SELECT FROM pg_replication_slots WHERE slot_name = s.slot_name)"
        )

    # -- positions -----------------------------------------------------------

    def current_lsn(self) -> str:
        return self.execute("SELECT pg_current_wal_lsn()")

    def replay_lsn(self) -> str | None:
        return self.execute("SELECT pg_last_wal_replay_lsn()") or None

    def receive_lsn(self) -> str | None:
        return self.execute("SELECT pg_last_wal_receive_lsn()") or None

    def _wait(self, done: Callable[[], bool], what: str, timeout: float = WAIT_TIMEOUT) -> None:
        wait_for(done, f"{self.name}: {what}", timeout)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def wait_for(done: Callable[[], bool], what: str, timeout: float = WAIT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def default_synchronous_names(standbys: Iterable[str]) -> str:
    return f"ANY 1 ({', '.join(standbys)})"


class PostgresCluster:
    """Members `pg0` (the first primary), `pg1`, ... under `base_dir`.

    `synchronous_standby_names`: None = ANY 1 of the standbys (a commit waits
    for one of them), "" = asynchronous, or any value PostgreSQL accepts.
    """

    def __init__(
        self,
        base_dir: Path,
        template: ClusterTemplate,
        *,
        standbys: int = 2,
        synchronous_standby_names: str | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.base_dir = base_dir.absolute()
        self.template = template
        self.members = [
            ClusterMember(f"pg{i}", self.base_dir / f"pg{i}") for i in range(standbys + 1)
        ]
        names = [member.name for member in self.members[1:]]
        self.synchronous_standby_names = (
            default_synchronous_names(names)
            if synchronous_standby_names is None
            else synchronous_standby_names
        )
        self.settings = settings or {}
        self.primary = self.members[0]

    @property
    def standbys(self) -> list[ClusterMember]:
        return [member for member in self.members if member is not self.primary]

    def member(self, name: str) -> ClusterMember:
        return next(member for member in self.members if member.name == name)

    def dsn(self, database: str = DATABASE, members: Iterable[ClusterMember] | None = None) -> str:
        """A multi-host DSN over `members` (all by default) that wants the writable one."""
        hosts = ",".join(f"{m.host}:{m.port}" for m in (members or self.members))
        return f"postgresql://{SUPERUSER}@{hosts}/{database}?target_session_attrs=read-write"

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> PostgresCluster:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        primary = self.primary
        primary.copy_data_dir(self.template.data_dir)
        conf = primary.data_dir / "postgresql.conf"
        _write_settings(
            conf,
            {
                **CLUSTER_SETTINGS,
                "synchronous_standby_names": self.synchronous_standby_names,
                **self.settings,
            },
        )
        primary.start()
        # Base backups in parallel: each is mostly waiting on a checkpoint.
        with ThreadPoolExecutor(max_workers=len(self.standbys) or 1) as pool:
            list(pool.map(self._start_standby, self.standbys))
        self.wait_streaming()

    def _start_standby(self, standby: ClusterMember) -> None:
        standby.base_backup(self.primary, create_slot=True)
        standby.configure_standby_of(self.primary)
        standby.start()

    def stop(self) -> None:
        for member in self.members:
            member.stop(immediate=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- failover steps (what the operator does; tests may do them by hand) --

    def promote(self, member: ClusterMember) -> None:
        """Promote `member` and make it the cluster's primary (others are not repointed)."""
        member.promote()
        self.primary = member

    def repoint_standbys(self) -> None:
        """Every running standby but the primary streams from the current primary."""
        for member in self.standbys:
            if member.process is not None and member.in_recovery():
                member.follow(self.primary)

    def rejoin(self, member: ClusterMember) -> str:
        """Turn `member` (e.g. a crashed old primary) into a standby of the current
        primary: pg_rewind, or a fresh base backup when rewinding fails.
        Returns which one it took: "rewind" or "basebackup"."""
        member.stop()  # a clean shutdown if it still runs; pg_rewind recovers a crashed one
        self.primary.ensure_slot(member.name)
        # pg_rewind (before PostgreSQL 16) reads the source's timeline from its
        # control file, which a promotion updates only at the next checkpoint:
        # without this it sees "the same timeline" and rewinds nothing.
        self.primary.execute("CHECKPOINT")
        how = "rewind"
        try:
            command = [str(member.bin_dir / "pg_rewind"), "--target-pgdata", str(member.data_dir)]
            command += [
                "--source-server",
                conninfo(self.primary.host, self.primary.port, dbname="postgres"),
            ]
            member._run_as_owner([*command, "--no-sync"])
        except HarnessError:
            how = "basebackup"
            member.base_backup(self.primary, create_slot=False)
        member.configure_standby_of(self.primary)
        member.start()
        return how

    # -- waiting -------------------------------------------------------------

    def wait_streaming(self, count: int | None = None, timeout: float = WAIT_TIMEOUT) -> None:
        """Until `count` (default: every other running member) stream from the primary."""
        expected = (
            count
            if count is not None
            else sum(
                1 for m in self.standbys if m.process is not None and m.upstream is self.primary
            )
        )

        def streaming() -> bool:
            found = self.primary.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
            )
            return int(found) >= expected

        wait_for(streaming, f"{expected} standbys streaming from {self.primary.name}", timeout)

    def wait_caught_up(
        self, standby: ClusterMember, lsn: str | None = None, timeout: float = WAIT_TIMEOUT
    ) -> None:
        """Until `standby` has replayed `lsn` (default: the primary's current position)."""
        target = lsn or self.primary.current_lsn()

        def caught_up() -> bool:
            replayed = standby.replay_lsn()
            if replayed is None:
                return False
            behind = standby.execute(f"SELECT pg_wal_lsn_diff('{target}', '{replayed}') > 0")
            return behind == "f"

        wait_for(caught_up, f"{standby.name} to replay {target}", timeout)
