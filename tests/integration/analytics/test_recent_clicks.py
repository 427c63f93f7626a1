"""Realtime reads ``recent_clicks`` (ClickHouse migration 0004): the last hours of clicks,
so a workspace's last 30 minutes don't cost a scan of the month's partition — once the
table has been filled for a whole realtime window since the migration."""

from __future__ import annotations

import time

from shortlink.adapters.clickhouse import ClickStore
from tests.harness.synthetic_clicks import COLUMNS_BEFORE_RULES
from tests.harness.synthetic_scale import Mix, select_sql

NOW = int(time.time()) // 60 * 60
MIX = Mix(clicks=6_000, links=20, end=NOW, days=1)  # the last day: a click every ~14 s


def _store_clicks(store: ClickStore) -> None:
    store.client.command(
        f"INSERT INTO clicks ({', '.join(COLUMNS_BEFORE_RULES)}) {select_sql(MIX, 0, MIX.clicks)}"
    )


async def test_realtime_reads_the_recent_table_once_it_covers_the_window(
    click_store: ClickStore,
) -> None:
    _store_clicks(click_store)
    codes = [f"L{n}" for n in range(20)]
    fresh = await click_store.realtime(codes, NOW)
    assert fresh.totals.clicks > 0
    recent = click_store.client.query("SELECT count() FROM recent_clicks").result_rows[0][0]
    assert 0 < recent < MIX.clicks  # the view keeps what the TTL hasn't dropped yet
    # Told apart by what each table holds: the raw rows of the window go from clicks only.
    click_store.client.command(f"DELETE FROM clicks WHERE ts >= toDateTime({NOW - 3600})")
    just_migrated = await click_store.realtime(codes, NOW)
    assert just_migrated.totals.clicks == 0  # the migration is minutes old: clicks read
    click_store.client.command(
        "INSERT INTO schema_migrations (version, name, applied_at)"
        f" VALUES (4, 'recent_clicks', toDateTime({NOW - 7200}))"
    )
    covered = await ClickStore(click_store.client).realtime(codes, NOW)
    assert covered.totals == fresh.totals
    assert covered.series == fresh.series and covered.countries == fresh.countries
