"""Whole-workspace aggregates rolled up from the per-link daily rows, per closed UTC
day at a time (clickhouse_migrations/0005, domain.workspace_rollups).

A day's rollup: each table's rows for the day are built in a staging table (the links'
workspaces joined from a staging table of (code, workspace) pairs read from PostgreSQL)
and then swapped in with ``REPLACE PARTITION``, so rolling a day twice, or by two
replicas at once, leaves one copy. Then the day is marked valid with the time its
reading began. Marking a day invalid (erasure, a click stored late for it) writes a
later version, so a rollup that read before the change can't make it valid again.

Single server only: on a cluster the per-link rows of a workspace are spread over
shards and a partition can't be replaced through a Distributed table (``rollable_store``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from clickhouse_connect.driver.client import Client

from shortlink.domain.workspace_rollups import DAY, GRACE

# workspace table -> the SELECT building its rows for one day, from ``{owners}``
_BUILDS = {
    "workspace_daily_stats": (
        "SELECT o.workspace, d.day, sum(d.clicks), sum(d.bot_clicks), sum(d.events),"
        " uniqMergeState(d.visitors) FROM daily_stats AS d INNER JOIN {owners} AS o"
        " ON d.code = o.code WHERE d.day IN {{days:Array(Date)}} GROUP BY o.workspace, d.day"
    ),
    "workspace_daily_breakdowns": (
        "SELECT o.workspace, d.dimension, d.day, d.value, sum(d.clicks) AS total"
        " FROM daily_breakdowns AS d INNER JOIN {owners} AS o ON d.code = o.code"
        " WHERE d.day IN {{days:Array(Date)}} GROUP BY o.workspace, d.dimension, d.day, d.value"
        " HAVING total > 0"
    ),
    "workspace_daily_links": (
        "SELECT o.workspace, d.day, d.code, sum(d.clicks) AS total"
        " FROM daily_stats AS d INNER JOIN {owners} AS o ON d.code = o.code"
        " WHERE d.day IN {{days:Array(Date)}} GROUP BY o.workspace, d.day, d.code HAVING total > 0"
    ),
}
TABLES = tuple(_BUILDS)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAYS_PER_STATEMENT = 7


def rollable_store(cluster: str) -> bool:
    return not cluster


@contextmanager
def owners_table(client: Client, owners: Sequence[tuple[str, str]]) -> Iterator[str]:
    """A staging table of (code, workspace) pairs for the rollups, dropped after."""
    name = f"rollup_owners_{secrets.token_hex(6)}"
    client.command(
        f"CREATE TABLE {name} (code String, workspace String) ENGINE = MergeTree ORDER BY code"
    )
    try:
        if owners:
            client.insert(name, [list(pair) for pair in owners], column_names=["code", "workspace"])
        yield name
    finally:
        client.command(f"DROP TABLE IF EXISTS {name}")


def days_to_roll(client: Client, now: float) -> list[int]:
    """Starts of the closed days with per-link rows and no valid rollup, oldest first."""
    cutoff = (int(now) - GRACE) // DAY * DAY  # the first day still open (or in its grace)
    rows = client.query(
        "SELECT DISTINCT toUnixTimestamp(toDateTime(day, 'UTC')) AS d FROM daily_stats"
        " WHERE day < toDate(toDateTime({cutoff:UInt32}, 'UTC'))"
        " AND day NOT IN (SELECT day FROM workspace_rollups FINAL WHERE valid) ORDER BY d",
        parameters={"cutoff": cutoff},
    ).result_rows
    return [int(day) for (day,) in rows]


def roll_up(client: Client, day_starts: Sequence[int], owners: Sequence[tuple[str, str]]) -> None:
    """Roll these days up with these (code, workspace) pairs (what a sweep does), a
    week of days per statement: the join's table of owners is built once per week."""
    if not day_starts:
        return
    with owners_table(client, owners) as table:
        ordered = sorted(day_starts)
        for first in range(0, len(ordered), DAYS_PER_STATEMENT):
            _roll_up_days(client, ordered[first : first + DAYS_PER_STATEMENT], table)


def _roll_up_days(client: Client, day_starts: Sequence[int], owners: str) -> None:
    """Replace the workspace rows of these days (epoch s, UTC midnights), mark them valid."""
    days = [date.fromordinal(_EPOCH_ORDINAL + start // DAY) for start in day_starts]
    began = client.query("SELECT now64(3, 'UTC')").result_rows[0][0]
    token = secrets.token_hex(6)
    for table, build in _BUILDS.items():
        staged = f"{table}_{token}"
        client.command(f"CREATE TABLE {staged} AS {table}")
        try:
            client.command(
                f"INSERT INTO {staged} {build.format(owners=owners)}", parameters={"days": days}
            )
            for day in days:  # a day without rows replaces the day's partition with none
                # A partition is named by a literal (an ISO date made here, not a caller's).
                client.command(f"ALTER TABLE {table} REPLACE PARTITION '{day}' FROM {staged}")
        finally:
            client.command(f"DROP TABLE IF EXISTS {staged}")
    client.insert(
        "workspace_rollups",
        [[day, True, began] for day in days],
        column_names=["day", "valid", "version"],
    )


def invalidate(client: Client, day_starts: Collection[int]) -> None:
    """Stop reading these days from the workspace tables until they are rolled again."""
    if day_starts:
        client.command(
            "INSERT INTO workspace_rollups (day, valid, version)"
            " SELECT toDate(toDateTime(d, 'UTC')), false, now64(3, 'UTC')"
            " FROM (SELECT arrayJoin({days:Array(UInt32)}) AS d)",
            parameters={"days": sorted(day_starts)},
        )


def forget(client: Client, day_starts: Collection[int]) -> None:
    """Erasure: invalidate these days, then delete their workspace rows (every
    workspace's: a day is rolled whole); the next sweep rolls them again."""
    if not day_starts:
        return
    invalidate(client, day_starts)
    for table in TABLES:
        client.command(
            f"DELETE FROM {table} WHERE day IN"
            " (SELECT toDate(toDateTime(arrayJoin({days:Array(UInt32)}), 'UTC')))",
            parameters={"days": sorted(day_starts)},
        )


def valid_days(client: Client, day_from: int, day_to: int) -> list[date]:
    """The days in ``[day_from, day_to)`` (epoch s, UTC midnights) read from the rollups."""
    if day_from >= day_to:
        return []
    rows = client.query(
        "SELECT day FROM workspace_rollups FINAL WHERE valid"
        " AND day >= toDate(toDateTime({f:UInt32}, 'UTC'))"
        " AND day < toDate(toDateTime({t:UInt32}, 'UTC')) ORDER BY day",
        parameters={"f": day_from, "t": day_to},
    ).result_rows
    return [day for (day,) in rows]
