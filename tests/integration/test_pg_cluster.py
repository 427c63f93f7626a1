"""The replicated-cluster harness: streaming, synchronous commit, failover by hand, rewind."""

from __future__ import annotations

import asyncio
import os
import pwd
from pathlib import Path

import asyncpg
import pytest

from tests.harness.pg_cluster import PostgresCluster


def test_standbys_stream_from_the_primary_unprivileged(pg_cluster: PostgresCluster) -> None:
    primary, standbys = pg_cluster.primary, pg_cluster.standbys
    assert [m.name for m in standbys] == ["pg1", "pg2"]
    assert not primary.in_recovery() and all(s.in_recovery() for s in standbys)
    owner = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    for member in pg_cluster.members:
        assert member.process is not None
        assert Path(f"/proc/{member.process.pid}").stat().st_uid == owner
    slots = primary.execute(
        "SELECT string_agg(slot_name, ',' ORDER BY slot_name)"
        " FROM pg_replication_slots WHERE active"
    )
    assert slots == "pg1,pg2"
    assert primary.execute("SHOW synchronous_standby_names") == "ANY 1 (pg1, pg2)"
    assert primary.execute("SHOW synchronous_commit") == "on"
    assert primary.execute("SHOW wal_log_hints") == "on"

    primary.execute(
        "CREATE TABLE probe (v text); INSERT INTO probe VALUES ('replicated')", "shortlink"
    )
    for standby in standbys:
        pg_cluster.wait_caught_up(standby)
        assert standby.execute("SELECT v FROM probe", "shortlink") == "replicated"
    # The migrated schema came along from the session's template.
    assert standbys[0].execute("SELECT to_regclass('links') IS NOT NULL", "shortlink") == "t"


async def test_a_commit_waits_for_a_synchronous_standby(pg_cluster: PostgresCluster) -> None:
    conn = await asyncpg.connect(pg_cluster.primary.dsn_for())
    try:
        await conn.execute("CREATE TABLE probe (v text)", timeout=10)
        for standby in pg_cluster.standbys:
            standby.stop_wal_receiver()
        commit = asyncio.ensure_future(conn.execute("INSERT INTO probe VALUES ('waits')"))
        await asyncio.sleep(1.0)
        assert not commit.done(), "a commit with no standby streaming must wait"
        pg_cluster.standbys[1].resume_wal_receiver()
        await asyncio.wait_for(commit, timeout=10)
    finally:
        await conn.close()
    # Acknowledged means on the standby that answered.
    assert (
        pg_cluster.standbys[1].execute("SELECT count(*) FROM probe WHERE v = 'waits'", "shortlink")
        == "1"
    )


def test_a_lagging_standby_falls_behind_and_catches_up(pg_cluster: PostgresCluster) -> None:
    lagging = pg_cluster.member("pg2")
    lagging.stop_wal_receiver()
    pg_cluster.primary.execute(
        "CREATE TABLE probe AS SELECT generate_series(1, 1000) AS n", "shortlink"
    )
    pg_cluster.wait_caught_up(pg_cluster.member("pg1"))
    behind = pg_cluster.primary.execute(
        f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{lagging.receive_lsn()}') > 0"
    )
    assert behind == "t"
    lagging.resume_wal_receiver()
    pg_cluster.wait_caught_up(lagging)
    assert lagging.execute("SELECT count(*) FROM probe", "shortlink") == "1000"


def test_failover_by_hand_and_rewind_rejoin(pg_cluster: PostgresCluster) -> None:
    old, new, other = pg_cluster.members
    old.execute("CREATE TABLE probe (v text); INSERT INTO probe VALUES ('before')", "shortlink")
    # `other` stops first, so `new` (promoted later) is at least as far: `other` can follow it.
    other.stop_wal_receiver()
    pg_cluster.wait_caught_up(new)
    pg_cluster.promote(new)
    assert pg_cluster.primary is new and not new.in_recovery()
    # Split brain, briefly: the old primary commits locally what the new one never gets,
    # so rejoining needs a rewind, not just a restart as a standby.
    old.execute(
        "SET synchronous_commit = local; INSERT INTO probe VALUES ('diverged')", "shortlink"
    )
    old.kill()
    assert old.process is None

    other.follow(new)
    new.execute("INSERT INTO probe VALUES ('after')", "shortlink")  # waits for `other` (ANY 1)
    pg_cluster.wait_caught_up(other)
    assert (
        other.execute("SELECT string_agg(v, ',' ORDER BY v) FROM probe", "shortlink")
        == "after,before"
    )

    assert pg_cluster.rejoin(old) == "rewind"
    assert old.in_recovery()
    pg_cluster.wait_streaming(2)
    pg_cluster.wait_caught_up(old)
    assert (
        old.execute("SELECT string_agg(v, ',' ORDER BY v) FROM probe", "shortlink")
        == "after,before"
    )


async def test_kill_freeze_and_restart(pg_cluster: PostgresCluster) -> None:
    standby = pg_cluster.member("pg1")
    standby.freeze()
    with pytest.raises(OSError):
        # Frozen: the kernel still accepts the TCP connection, nobody answers.
        await asyncpg.connect(standby.dsn_for(), timeout=0.5)
    standby.thaw()
    assert standby.in_recovery()
    pg_cluster.primary.kill()
    with pytest.raises(OSError):
        await asyncpg.connect(pg_cluster.primary.dsn_for(), timeout=1)
    pg_cluster.primary.start()  # crash recovery, same role
    assert not pg_cluster.primary.in_recovery()
    pg_cluster.wait_streaming(2)


def test_rejoin_falls_back_to_a_fresh_base_backup(pg_cluster: PostgresCluster) -> None:
    broken = pg_cluster.member("pg2")
    broken.kill()
    (broken.data_dir / "global" / "pg_control").unlink()  # nothing pg_rewind can work with
    assert pg_cluster.rejoin(broken) == "basebackup"
    pg_cluster.primary.execute("CREATE TABLE probe AS SELECT 1 AS n", "shortlink")
    pg_cluster.wait_caught_up(broken)
    assert broken.execute("SELECT n FROM probe", "shortlink") == "1"
