"""``shortlink postgres-rejoin``: turn a fenced (or crashed) old primary into a standby
of the new one. Node-local: it runs where the member's data directory is, with
PostgreSQL stopped — what an init container of the member's pod runs before
postgres starts (the operator can't: it only reaches members over SQL).

1. ``pg_rewind`` from the new primary: only the blocks the old timeline changed after
   the fork are replaced (needs wal_log_hints or data checksums; PostgreSQL >= 13
   recovers a crashed data directory first on its own). What the old primary wrote
   after the fork — never acknowledged: it was fenced, or had no synchronous standby
   left — is discarded here.
   A CHECKPOINT on the new primary first: until one, its control file still names the
   old timeline and pg_rewind would find nothing to rewind.
2. If rewinding fails (WAL since the fork already recycled, no wal_log_hints ...): a
   fresh ``pg_basebackup``; the old directory is kept beside it as ``<dir>.old``.
3. ``standby.signal``, and in postgresql.auto.conf: primary_conninfo to the new
   primary with this member's application_name, its slot, and the fence settings
   (read-only, the unsatisfiable synchronous_standby_names) removed.

Once it starts and streams, the operator sees a standby and reports it ``Rejoined``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shortlink.adapters.pg_cluster import Credentials, primary_conninfo
from shortlink.domain.failover import Member

# postgresql.auto.conf keys rewritten on rejoin: the fence, and the old streaming setup.
_RESET_KEYS = frozenset(
    {
        "default_transaction_read_only",
        "synchronous_standby_names",
        "synchronous_commit",
        "primary_conninfo",
        "primary_slot_name",
    }
)


class RejoinError(Exception):
    pass


@dataclass
class Rejoin:
    data_dir: Path
    member: Member
    primary: Member
    user: str
    password: str
    bin_dir: Path | None = None
    _owner: tuple[int, int] = (0, 0)

    def tool(self, name: str) -> str:
        if self.bin_dir is not None:
            return str(self.bin_dir / name)
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        return str(found[-1]) if found else name

    @property
    def source(self) -> str:
        parts = f"host={self.primary.host} port={self.primary.port} user={self.user}"
        return parts + " dbname=postgres connect_timeout=5"

    def run(self) -> str:
        """Rewind (or re-clone) and configure as a standby; which method it took."""
        if _running(self.data_dir):
            raise RejoinError(f"PostgreSQL is running on {self.data_dir}: stop it first")
        env = {**os.environ, "PGPASSWORD": self.password} if self.password else None
        method = "rewind"
        self._owner = _owner(self.data_dir)
        # A freshly promoted primary's pg_control still names the old timeline until
        # its first checkpoint; pg_rewind would then see no fork ("no rewind required").
        self._run([self.tool("psql"), "-X", "-q", "-d", self.source, "-c", "CHECKPOINT"], env)
        rewind = self._run(
            [
                *(self.tool("pg_rewind"), "--target-pgdata", str(self.data_dir)),
                *("--source-server", self.source),
            ],
            env,
        )
        if rewind.returncode != 0:
            method = "basebackup"
            self._base_backup(env, rewind.stderr.strip())
        self._configure()
        return method

    def _base_backup(self, env: dict[str, str] | None, why: str) -> None:
        aside = self.data_dir.with_name(self.data_dir.name + ".old")
        if aside.exists():
            shutil.rmtree(aside)
        if self.data_dir.exists():
            self.data_dir.rename(aside)
        backup = self._run(
            [
                *(self.tool("pg_basebackup"), "-D", str(self.data_dir), "-d", self.source),
                *("-X", "stream", "--checkpoint=fast"),
            ],
            env,
        )
        if backup.returncode != 0:
            raise RejoinError(
                f"pg_rewind failed ({why}) and so did pg_basebackup: {backup.stderr.strip()}"
            )

    def _configure(self) -> None:
        (self.data_dir / "standby.signal").touch()
        auto = self.data_dir / "postgresql.auto.conf"
        lines = auto.read_text().splitlines(keepends=True) if auto.exists() else []
        kept = [line for line in lines if line.split("=", 1)[0].strip() not in _RESET_KEYS]
        conninfo = primary_conninfo(
            self.primary, self.member, Credentials(self.user, "", self.user, self.password)
        )
        kept.append(f"primary_conninfo = {_quote(conninfo)}\n")
        kept.append(f"primary_slot_name = {_quote(self.member.slot)}\n")
        auto.write_text("".join(kept))
        if os.geteuid() == 0:
            for path in (auto, self.data_dir / "standby.signal"):
                os.chown(path, *self._owner)

    def _run(
        self, command: list[str], env: dict[str, str] | None
    ) -> subprocess.CompletedProcess[str]:
        """Run as root (a debugging shell, a test), the PostgreSQL tools still run as
        the data directory's owner: pg_rewind refuses root, and files must stay theirs."""
        root = os.geteuid() == 0
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            user=self._owner[0] if root else None,
            group=self._owner[1] if root else None,
            extra_groups=[] if root else None,
            cwd="/",
        )


def _owner(data_dir: Path) -> tuple[int, int]:
    stat = data_dir.stat()
    return stat.st_uid, stat.st_gid


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _running(data_dir: Path) -> bool:
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(args: argparse.Namespace) -> None:
    rejoin = Rejoin(
        args.data_dir,
        Member(args.member, "", 0),
        Member("primary", args.primary_host, args.primary_port),
        args.user,
        os.environ.get("PGPASSWORD", ""),
        args.bin_dir,
    )
    try:
        method = rejoin.run()
    except RejoinError as exc:
        print(json.dumps({"member": args.member, "error": str(exc)}))
        raise SystemExit(1) from None
    print(json.dumps({"member": args.member, "method": method, "primary": args.primary_host}))
