"""The scale generator (tests/harness/synthetic_scale.py) against chDB: its shortcut
around the views must leave the aggregates exactly as the views would, and the mix
must have the advertised shape."""

from __future__ import annotations

from shortlink.adapters.clickhouse import ClickStore
from tests.harness.synthetic_clicks import COLUMNS_BEFORE_RULES
from tests.harness.synthetic_scale import Mix, generate_clicks, select_sql

MIX = Mix(clicks=30_000, links=500, end=1_760_000_000, days=40)
AGGREGATES = {
    "hourly_stats": "SELECT code, hour, sum(clicks), sum(bot_clicks), sum(events),"
    " uniqMerge(visitors) FROM hourly_stats GROUP BY code, hour ORDER BY code, hour",
    "daily_stats": "SELECT code, day, sum(clicks), sum(bot_clicks), sum(events),"
    " uniqMerge(visitors) FROM daily_stats GROUP BY code, day ORDER BY code, day",
    "hourly_breakdowns": "SELECT code, dimension, hour, value, sum(clicks) FROM hourly_breakdowns"
    " GROUP BY ALL ORDER BY ALL",
    "daily_breakdowns": "SELECT code, dimension, day, value, sum(clicks) FROM daily_breakdowns"
    " GROUP BY ALL ORDER BY ALL",
}


async def test_generated_aggregates_are_what_the_views_make(clickhouse_url: str) -> None:
    generated = ClickStore.connect(clickhouse_url)
    through_views = ClickStore.connect(clickhouse_url.replace("database=", "database=views_"))
    try:
        for store in (generated, through_views):
            await store.apply_migrations()
        generate_clicks(generated.client, MIX, chunk=7_000)  # several chunks
        through_views.client.command(
            f"INSERT INTO clicks ({', '.join(COLUMNS_BEFORE_RULES)})"
            f" {select_sql(MIX, 0, MIX.clicks)}"
        )
        for table, query in AGGREGATES.items():
            expected = through_views.client.query(query).result_rows
            assert expected, table
            assert generated.client.query(query).result_rows == expected, table
        count = generated.client.query("SELECT count() FROM clicks").result_rows[0][0]
        assert count == MIX.clicks
        tables = generated.client.query("SHOW TABLES").result_rows
        assert not [name for (name,) in tables if name.endswith("_generated")]
    finally:
        through_views.client.command(f"DROP DATABASE IF EXISTS {through_views.client.database}")
        generated.close()
        through_views.close()


async def test_the_mix_is_skewed_with_a_tenth_bots(click_store: ClickStore) -> None:
    generate_clicks(click_store.client, MIX)
    bots, hottest, in_w0, newest, oldest = click_store.client.query(
        "SELECT countIf(is_bot), countIf(code = 'L0'), countIf(toUInt32(substring(code, 2)) < 100),"
        " toUnixTimestamp(max(ts)), toUnixTimestamp(min(ts)) FROM clicks"
    ).result_rows[0]
    assert 0.09 < bots / MIX.clicks < 0.11
    assert 0.08 < hottest / MIX.clicks < 0.14  # ln 2 / ln 501
    assert newest < MIX.end and oldest >= MIX.end - MIX.days * 86_400
    assert in_w0 > 0
