"""Issue 24: the clustered schema (CLICKHOUSE_CLUSTER) as far as chDB can take it.

chDB has no Keeper and no cluster: Replicated tables and Distributed ones can't be
created. Proven here: every clustered statement parses (EXPLAIN AST), and a local
rehearsal of the same shape (the _local tables with the plain engines, the views
rewired to them, the code's table names as Merge tables over them) stores and
counts clicks exactly as the single-node schema does. Unproven: replication, ON
CLUSTER execution, Distributed inserts and their sharding, on a real cluster."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from clickhouse_connect.driver.client import Client

from shortlink.adapters.clickhouse import ClickStore, available_migrations, open_client
from shortlink.adapters.clickhouse_cluster import clustered
from tests.harness.synthetic_clicks import insert_million_style

T0 = 1_709_596_800  # 2024-03-05 00:00 UTC
_numbers = itertools.count()


def _clustered_migrations() -> list[str]:
    return [
        ddl
        for _, _, statements in available_migrations()
        for statement in statements
        for ddl in clustered(statement, "{cluster}")
    ]


def _rehearsal(ddl: str) -> str:
    """The same statement on one server: no ON CLUSTER, plain engines, Merge for Distributed."""
    ddl = ddl.replace(" ON CLUSTER '{cluster}'", "")
    ddl = re.sub(r"Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?", r"\1(", ddl)
    return re.sub(
        r"AS (\w+)_local ENGINE = Distributed\(.*\)$",
        r"AS \1_local ENGINE = Merge(currentDatabase(), '^\1_local$')",
        ddl,
    )


def test_every_clustered_statement_parses(clickhouse_engine: Client) -> None:
    statements = _clustered_migrations()
    assert any("ReplicatedAggregatingMergeTree" in s for s in statements)
    assert any("Distributed('{cluster}'" in s for s in statements)
    for ddl in statements:
        assert clickhouse_engine.command(f"EXPLAIN AST {ddl}"), ddl


async def test_a_rehearsal_of_the_clustered_shape_counts_as_one_node_does(
    clickhouse_engine: Client, clickhouse_dir: Path, click_store: ClickStore
) -> None:
    name = f"rehearsal_{next(_numbers)}"
    client = open_client(f"chdb://{clickhouse_dir}?database={name}")
    try:
        for ddl in _clustered_migrations():
            client.command(_rehearsal(ddl))
        # The same 20,000 clicks into both: the one-node tables, and the shards' _local ones.
        insert_million_style(click_store.client, "rehearse", 20_000, T0, 3)
        client.command(
            f"INSERT INTO clicks_local SELECT * FROM {click_store.client.database}.clicks"
        )
        rehearsed = await ClickStore(client).stats("rehearse", T0, T0 + 3 * 86_400, "day")
        single = await click_store.stats("rehearse", T0, T0 + 3 * 86_400, "day")
        assert rehearsed.totals.clicks > 0
        assert rehearsed == single
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")
        client.close()
