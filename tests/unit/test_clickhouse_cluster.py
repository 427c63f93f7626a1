"""Issue 24: the clustered ClickHouse schema, rewritten from the one migration source."""

from __future__ import annotations

import pytest

from shortlink.adapters.clickhouse import available_migrations
from shortlink.adapters.clickhouse_cluster import UnclusterableStatement, clustered

CLICKS = """CREATE TABLE IF NOT EXISTS clicks
(
    event_id String,
    code String
)
ENGINE = ReplacingMergeTree
ORDER BY (code, event_id)"""


def test_a_table_becomes_a_replicated_local_table_and_a_distributed_one() -> None:
    local, distributed = clustered(CLICKS, "{cluster}")
    assert local.startswith("CREATE TABLE IF NOT EXISTS clicks_local ON CLUSTER '{cluster}'")
    assert (
        "ENGINE = ReplicatedReplacingMergeTree("
        "'/clickhouse/tables/{shard}/{database}/clicks_local', '{replica}')"
    ) in local
    assert local.endswith("ORDER BY (code, event_id)")
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS clicks ON CLUSTER '{cluster}' AS clicks_local"
        " ENGINE = Distributed('{cluster}', currentDatabase(), 'clicks_local', cityHash64(code))"
    )


def test_views_read_and_write_the_local_tables() -> None:
    (view,) = clustered(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS daily_mv TO daily AS\nSELECT code FROM hourly",
        "prod",
    )
    assert view == (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS daily_mv ON CLUSTER 'prod' TO daily_local AS\n"
        "SELECT code FROM hourly_local"
    )


def test_an_alter_changes_the_local_and_the_distributed_table() -> None:
    assert clustered("ALTER TABLE clicks ADD COLUMN x String", "c") == [
        "ALTER TABLE clicks_local ON CLUSTER 'c' ADD COLUMN x String",
        "ALTER TABLE clicks ON CLUSTER 'c' ADD COLUMN x String",
    ]


def test_a_storage_setting_changes_only_the_local_table() -> None:
    assert clustered("ALTER TABLE clicks MODIFY SETTING x = 1", "c") == [
        "ALTER TABLE clicks_local ON CLUSTER 'c' MODIFY SETTING x = 1"
    ]


def test_a_view_is_dropped_on_every_server() -> None:
    assert clustered("DROP VIEW IF EXISTS click_ids_mv", "c") == [
        "DROP VIEW IF EXISTS click_ids_mv ON CLUSTER 'c'"
    ]


def test_every_shipped_migration_statement_has_a_clustered_form() -> None:
    for _, _, statements in available_migrations():
        for statement in statements:
            assert clustered(statement, "{cluster}")


def test_an_unknown_shape_is_refused_not_passed_through() -> None:
    with pytest.raises(UnclusterableStatement):
        clustered("DROP TABLE clicks", "{cluster}")
