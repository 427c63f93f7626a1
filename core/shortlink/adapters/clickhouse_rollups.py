"""Rollups of the per-link daily rows, per closed UTC day or month
(clickhouse_migrations/0005 and 0007, domain.workspace_rollups): whole-workspace
aggregates per day, and each link's aggregates per month.

A period's rollup: each table's rows for it are built in a staging table (for the
workspace tables, the links' workspaces joined from a staging table of (code,
workspace) pairs read from PostgreSQL) and then swapped in with ``REPLACE PARTITION``,
so rolling a period twice, or by two replicas at once, leaves one copy. Then the period
is marked valid with the time its reading began. Marking it invalid (erasure, a click
stored late for one of its days) writes a later version, so a rollup that read before
the change can't make it valid again.

Single server only: on a cluster the per-link rows of a workspace are spread over
shards and a partition can't be replaced through a Distributed table (``rollable_store``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from clickhouse_connect.driver.client import Client

from shortlink.domain.workspace_rollups import (
    DAY,
    GRACE,
    RollupWork,
    month_start,
    next_month,
    rollable_month,
)

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
# per-link monthly table -> the SELECT building its rows for one month
_MONTH_BUILDS = {
    "monthly_stats": (
        "SELECT code, toStartOfMonth(day) AS month, sum(clicks), sum(bot_clicks), sum(events),"
        " uniqMergeState(visitors) FROM daily_stats WHERE {days} GROUP BY code, month"
    ),
    "monthly_breakdowns": (
        "SELECT code, dimension, toStartOfMonth(day) AS month, value, sum(clicks) AS total"
        " FROM daily_breakdowns WHERE {days} GROUP BY code, dimension, month, value"
        " HAVING total > 0"
    ),
}
_MONTH_DAYS = (
    "day >= toDate(toDateTime({first:UInt32}, 'UTC'))"
    " AND day < toDate(toDateTime({next:UInt32}, 'UTC'))"
)
TABLES = tuple(_BUILDS)
MONTH_TABLES = tuple(_MONTH_BUILDS)
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


def pending(client: Client, now: float) -> RollupWork:
    """The closed days (whole-workspace) and months (per link) with per-link rows and
    no valid rollup, oldest first."""
    return RollupWork(tuple(days_to_roll(client, now)), tuple(months_to_roll(client, now)))


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


def months_to_roll(client: Client, now: float) -> list[int]:
    """Starts of the closed months with per-link rows and no valid rollup, oldest first."""
    first_open = month_start((int(now) - GRACE) // DAY * DAY)
    rows = client.query(
        "SELECT DISTINCT toUnixTimestamp(toDateTime(toStartOfMonth(day), 'UTC')) AS m"
        " FROM daily_stats WHERE day < toDate(toDateTime({open:UInt32}, 'UTC'))"
        " AND toStartOfMonth(day) NOT IN (SELECT month FROM monthly_rollups FINAL WHERE valid)"
        " ORDER BY m",
        parameters={"open": first_open},
    ).result_rows
    return [int(month) for (month,) in rows if rollable_month(int(month), now)]


def roll_up(client: Client, day_starts: Sequence[int], owners: Sequence[tuple[str, str]]) -> None:
    """Roll these days up with these (code, workspace) pairs (what a sweep does), a
    week of days per statement: the join's table of owners is built once per week."""
    if not day_starts:
        return
    with owners_table(client, owners) as table:
        ordered = sorted(day_starts)
        for first in range(0, len(ordered), DAYS_PER_STATEMENT):
            _roll_up_days(client, ordered[first : first + DAYS_PER_STATEMENT], table)


def roll_up_work(client: Client, work: RollupWork, owners: Sequence[tuple[str, str]]) -> None:
    """What a sweep does: the pending days with these owners, then the pending months."""
    roll_up(client, work.days, owners)
    for month in sorted(work.months):
        _roll_up_month(client, month)


def _roll_up_days(client: Client, day_starts: Sequence[int], owners: str) -> None:
    """Replace the workspace rows of these days (epoch s, UTC midnights), mark them valid."""
    days = [_date(start) for start in day_starts]
    builds = {table: build.format(owners=owners) for table, build in _BUILDS.items()}
    began = _replace_partitions(client, builds, [str(day) for day in days], {"days": days})
    _mark_valid(client, "workspace_rollups", "day", days, began)


def _roll_up_month(client: Client, start: int) -> None:
    """Replace the per-link rows of the month starting at ``start``, mark it valid."""
    builds = {table: build.format(days=_MONTH_DAYS) for table, build in _MONTH_BUILDS.items()}
    month = _date(start)
    parameters = {"first": start, "next": next_month(start)}
    began = _replace_partitions(client, builds, [str(month)], parameters)
    _mark_valid(client, "monthly_rollups", "month", [month], began)


def _replace_partitions(
    client: Client, builds: dict[str, str], partitions: Sequence[str], parameters: dict[str, Any]
) -> Any:
    """Build each table's rows in a staging copy and swap these partitions in (one
    without rows is replaced with none); returns when the reading began."""
    began = client.query("SELECT now64(3, 'UTC')").result_rows[0][0]
    token = secrets.token_hex(6)
    for table, build in builds.items():
        staged = f"{table}_{token}"
        client.command(f"CREATE TABLE {staged} AS {table}")
        try:
            client.command(f"INSERT INTO {staged} {build}", parameters=parameters)
            for partition in partitions:
                # A partition is named by a literal (an ISO date made here, not a caller's).
                client.command(f"ALTER TABLE {table} REPLACE PARTITION '{partition}' FROM {staged}")
        finally:
            client.command(f"DROP TABLE IF EXISTS {staged}")
    return began


def _mark_valid(
    client: Client, table: str, column: str, periods: Sequence[date], version: Any
) -> None:
    client.insert(
        table,
        [[period, True, version] for period in periods],
        column_names=[column, "valid", "version"],
    )


def invalidate(client: Client, day_starts: Collection[int]) -> None:
    """Stop reading these days, and their months, from the rollups until rolled again."""
    if day_starts:
        for table, period in (("workspace_rollups", "day"), ("monthly_rollups", "month")):
            client.command(
                f"INSERT INTO {table} ({period}, valid, version)"
                " SELECT DISTINCT toDate(toDateTime(d, 'UTC')), false, now64(3, 'UTC')"
                " FROM (SELECT arrayJoin({starts:Array(UInt32)}) AS d)",
                parameters={"starts": sorted(_periods(period, day_starts))},
            )


def forget(client: Client, day_starts: Collection[int]) -> None:
    """Erasure: invalidate these days and their months, then delete their rolled rows
    (every workspace's and link's: a period is rolled whole); the next sweep rolls
    them again."""
    if not day_starts:
        return
    invalidate(client, day_starts)
    for tables, period in ((TABLES, "day"), (MONTH_TABLES, "month")):
        starts = sorted(_periods(period, day_starts))
        for table in tables:
            client.command(
                f"DELETE FROM {table} WHERE {period} IN"
                " (SELECT toDate(toDateTime(arrayJoin({starts:Array(UInt32)}), 'UTC')))",
                parameters={"starts": starts},
            )


def _periods(period: str, day_starts: Collection[int]) -> set[int]:
    """The starts of the days or months (``period``) holding these days."""
    if period == "month":
        return {month_start(start) for start in day_starts}
    return set(day_starts)


def valid_days(client: Client, day_from: int, day_to: int) -> list[date]:
    """The days in ``[day_from, day_to)`` (epoch s, UTC midnights) read from the rollups."""
    return _valid(client, "workspace_rollups", "day", day_from, day_to)


def valid_months(client: Client, months: Sequence[int]) -> list[date]:
    """Those of these months (starts, epoch s) read from the monthly rollups."""
    if not months:
        return []
    found = _valid(client, "monthly_rollups", "month", min(months), next_month(max(months)))
    wanted = {_date(start) for start in months}
    return [month for month in found if month in wanted]


def _valid(client: Client, table: str, column: str, start: int, end: int) -> list[date]:
    if start >= end:
        return []
    rows = client.query(
        f"SELECT {column} FROM {table} FINAL WHERE valid"
        f" AND {column} >= toDate(toDateTime({{f:UInt32}}, 'UTC'))"
        f" AND {column} < toDate(toDateTime({{t:UInt32}}, 'UTC')) ORDER BY {column}",
        parameters={"f": start, "t": end},
    ).result_rows
    return [period for (period,) in rows]


def _date(start: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + start // DAY)
