"""Erasing a link's clicks, or a range of days, from chDB: the raw rows and every
aggregate, and nothing else."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.clickhouse_erasure import TABLES, erase_clicks, erasure_statement
from shortlink.domain.click_erasure import ErasureRange
from tests.harness.synthetic_scale import Mix, generate_clicks

DAY = 86_400
END = 1_760_054_400  # a UTC midnight
MIX = Mix(clicks=20_000, links=50, end=END, days=20)
COUNTS = {
    "clicks": "SELECT code, toDate(ts) AS d, count() FROM clicks GROUP BY ALL ORDER BY ALL",
    "hourly_stats": "SELECT code, toDate(hour) AS d, sum(events) FROM hourly_stats"
    " GROUP BY ALL ORDER BY ALL",
    "daily_stats": "SELECT code, day, sum(events) FROM daily_stats GROUP BY ALL ORDER BY ALL",
    "hourly_breakdowns": "SELECT code, toDate(hour) AS d, sum(clicks) FROM hourly_breakdowns"
    " GROUP BY ALL ORDER BY ALL",
    "daily_breakdowns": "SELECT code, day, sum(clicks) FROM daily_breakdowns"
    " GROUP BY ALL ORDER BY ALL",
}


def _rows(store: ClickStore) -> dict[str, set[tuple[str, object, int]]]:
    return {
        table: {tuple(row) for row in store.client.query(sql).result_rows}
        for table, sql in COUNTS.items()
    }


async def test_a_links_clicks_go_from_every_table(click_store: ClickStore) -> None:
    generate_clicks(click_store.client, MIX)
    before = _rows(click_store)
    await erase_clicks(click_store, ["L0", "L3"], ErasureRange(None, None))
    after = _rows(click_store)
    for table, rows in before.items():
        assert any(row[0] == "L0" for row in rows), table
        assert after[table] == {row for row in rows if row[0] not in ("L0", "L3")}, table
    stats = await click_store.stats_of(["L0"], END - 20 * DAY, END)
    assert stats.totals.clicks == 0 and not stats.countries


async def test_a_range_of_days_goes_and_the_days_around_it_stay(click_store: ClickStore) -> None:
    generate_clicks(click_store.client, MIX)
    before = _rows(click_store)
    start, end = END - 10 * DAY, END - 7 * DAY
    await erase_clicks(click_store, ["L0", "L1"], ErasureRange(start, end))
    after = _rows(click_store)
    for table, rows in before.items():
        gone = {row for row in rows if row[0] in ("L0", "L1") and start <= _epoch(row[1]) < end}
        assert gone, table
        assert after[table] == rows - gone, table
    whole = await click_store.stats_of(["L1"], END - 20 * DAY, END)
    raw = click_store.client.query(
        "SELECT countIf(is_human) FROM clicks WHERE code = 'L1'"
    ).result_rows[0][0]
    assert whole.totals.clicks == raw > 0


def _epoch(day: object) -> int:
    from datetime import UTC, date, datetime

    assert isinstance(day, date)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def test_the_clustered_erasure_parses(clickhouse_engine: Client) -> None:
    """No ClickHouse cluster on this machine: its DELETEs are proven to parse only."""
    for table, moment in TABLES.items():
        statement = erasure_statement(table, moment, "{cluster}")
        assert "_local ON CLUSTER '{cluster}'" in statement
        parameters = {"codes": ["abc"], "start": 0, "end": DAY}
        assert clickhouse_engine.command(f"EXPLAIN AST {statement}", parameters=parameters)
