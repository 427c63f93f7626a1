"""Per-workspace click retention on real PostgreSQL and chDB: the sweep erases a
workspace's clicks older than its click_retention_days, and no one else's."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.clickhouse_erasure import erase_clicks
from shortlink.domain.click_erasure import ErasureRange
from shortlink.services.click_retention import ClickRetention
from shortlink.wiring import Backends
from tests.harness.synthetic_scale import Mix, generate_clicks

DAY = 86_400
END = 1_760_054_400  # a UTC midnight: the clock says noon of the next day
MIX = Mix(clicks=20_000, links=20, end=END + DAY, days=40)


async def test_the_sweep_erases_past_each_workspaces_retention(
    backends: Backends, click_store: ClickStore, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for slug, days in (("rt-short", 10), ("rt-none", 0)):
            await conn.execute(
                "INSERT INTO workspaces (slug, name, click_retention_days) VALUES ($1, $1, $2)",
                slug,
                days,
            )
        for code, owner in (("L0", "rt-short"), ("L1", "rt-short"), ("L2", "rt-none")):
            await conn.execute(
                "INSERT INTO links (code, target, owner) VALUES ($1, 'https://example.com/', $2)",
                code,
                owner,
            )
    finally:
        await conn.close()
    generate_clicks(click_store.client, MIX)

    async def erase(codes: Sequence[str], span: ErasureRange) -> bool:
        await erase_clicks(click_store, codes, span)
        return True

    retention = ClickRetention(
        backends.workspaces, backends.links, erase, clock=lambda: END + DAY + 12 * 3600
    )
    cutoff = END + DAY - 10 * DAY  # today (END + 1 day) and the 10 days before it kept
    assert await retention.sweep() == {"rt-short": cutoff}

    def oldest(table: str, moment: str) -> dict[str, int]:
        rows = click_store.client.query(
            f"SELECT code, toUnixTimestamp(min({moment})) FROM {table}"
            " WHERE code IN ('L0', 'L1', 'L2') GROUP BY code"
        ).result_rows
        return {str(code): int(first) for code, first in rows}

    for table, moment in (("clicks", "ts"), ("hourly_stats", "hour"),
                          ("daily_stats", "toDateTime(day, 'UTC')")):  # fmt: skip
        first = oldest(table, moment)
        assert first["L0"] >= cutoff and first["L1"] >= cutoff, table
        assert first["L0"] < cutoff + DAY, table  # the day at the cutoff is kept
        assert first["L2"] < END - 30 * DAY, table  # rt-none keeps every click
    assert await retention.sweep() == {"rt-short": cutoff}  # again: nothing more to do


async def test_no_store_yet_means_the_next_sweep() -> None:
    async def unavailable(codes: Sequence[str], span: ErasureRange) -> bool:
        return False

    class One:
        async def click_retentions(self) -> dict[str, int]:
            return {"rt-x": 5}

    class Codes:
        async def codes_of(self, owner: str) -> list[str]:
            return ["abc"]

    assert await ClickRetention(One(), Codes(), unavailable).sweep() == {}
