"""Erasing stored clicks from ClickHouse: the raw rows and every aggregate made of them.

One statement per table, each a lightweight ``DELETE`` (rows masked at once, dropped
at the next merge of their part) bounded by the table's own time column, so only the
partitions of the range are touched. Every table is keyed by code, so a link's rows
are found by the key. ``click_ids`` (event ids and times, nothing about the visitor)
is left alone on purpose: a replay of an erased click within its 7 days is still
known and dropped, instead of coming back.

On a cluster the statements go to every server's ``_local`` tables (ON CLUSTER):
only parsed here (no ClickHouse server on this machine), see the tests.

The range is whole UTC days (domain.click_erasure): hourly and daily rows are then
erased exactly with the clicks they count. A click for an erased day arriving after
the erasure (a late replay from the bus older than 7 days) would be stored again.
The whole-workspace rollups of the days where the links had rows, and the links'
monthly rollups of those days' months, are invalidated and deleted (every workspace's and
link's: a period is rolled whole), and rolled again by the next sweep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from shortlink.adapters import clickhouse_rollups as rollups
from shortlink.adapters.clickhouse import ClickStore
from shortlink.domain.click_erasure import ErasureRange

# table -> its time column, as a DateTime in UTC
TABLES: Final = {
    "clicks": "ts",
    "recent_clicks": "ts",
    "hourly_stats": "hour",
    "hourly_breakdowns": "hour",
    "daily_stats": "toDateTime(day, 'UTC')",
    "daily_breakdowns": "toDateTime(day, 'UTC')",
}


async def erase_clicks(store: ClickStore, codes: Sequence[str], erasure: ErasureRange) -> None:
    await asyncio.to_thread(erase_clicks_sync, store, codes, erasure)


def erase_clicks_sync(store: ClickStore, codes: Sequence[str], erasure: ErasureRange) -> None:
    """Erase the clicks of ``codes`` in ``erasure`` from the raw table and the aggregates."""
    if not codes:
        return
    start, end = erasure.bounds()
    parameters = {"codes": list(codes), "start": start, "end": end}
    rolled = rollups.rollable_store(store.cluster)
    touched = _days_with_rows(store, parameters) if rolled else []
    for table, moment in TABLES.items():
        store.client.command(erasure_statement(table, moment, store.cluster), parameters=parameters)
    if rolled:  # after the deletes: a rollup that read before them stays invalid
        rollups.forget(store.client, touched)


def _days_with_rows(store: ClickStore, parameters: dict[str, object]) -> list[int]:
    """The UTC days (starts) in the range where these links have daily rows: the
    workspace rollups of those days hold their clicks."""
    rows = store.client.query(
        "SELECT DISTINCT toUnixTimestamp(toDateTime(day, 'UTC')) FROM daily_stats"
        f" WHERE code IN {{codes:Array(String)}} AND {TABLES['daily_stats']} >= "
        "toDateTime({start:UInt32}, 'UTC')"
        f" AND {TABLES['daily_stats']} < toDateTime({{end:UInt32}}, 'UTC')",
        parameters=parameters,
    ).result_rows
    return [int(day) for (day,) in rows]


def erasure_statement(table: str, moment: str, cluster: str) -> str:
    """The DELETE for one table. On a cluster (clickhouse_cluster) ``table`` is a
    Distributed table, which takes no DELETE: each shard's ``table_local`` does, on
    every server at once (ON CLUSTER; replicas apply it through replication)."""
    target = f"{table}_local ON CLUSTER '{cluster}'" if cluster else table
    return (
        f"DELETE FROM {target} WHERE code IN {{codes:Array(String)}}"
        f" AND {moment} >= toDateTime({{start:UInt32}}, 'UTC')"
        f" AND {moment} < toDateTime({{end:UInt32}}, 'UTC')"
    )
