"""Rollups (clickhouse_rollups) answer exactly as the links' own daily rows do: a
workspace's days, a link's months; after rolling, after an erasure, after a late click,
in chDB."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shortlink.adapters import clickhouse_rollups as rollups
from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.clickhouse_erasure import erase_clicks
from shortlink.domain.analytics import ClickRow, LinkStats
from shortlink.domain.click_erasure import ErasureRange
from shortlink.domain.workspace_rollups import RollupWork
from shortlink.services.workspace_rollups import WorkspaceRollups
from shortlink.wiring import Backends
from tests.harness.synthetic_scale import Mix, generate_clicks

DAY = 86_400
HOUR = 3_600
GRACE_OVER = 3 * HOUR  # past the 2-hour grace after a day's end
END = 1_760_054_400  # a UTC midnight
MIX = Mix(clicks=20_000, links=60, end=END, days=20)
OWNERS = [(f"L{rank}", f"w{rank % 3}") for rank in range(MIX.links)]
W1 = [code for code, workspace in OWNERS if workspace == "w1"]
# Ragged at both ends: whole days in the middle, edge hours read from hourly rows.
START, STOP = END - 15 * DAY + 5 * HOUR, END - 2 * DAY + 3 * HOUR


async def _asked(store: ClickStore, workspace: str, interval: str = "day") -> LinkStats:
    return await store.stats_of(
        W1, START, STOP, interval, limit=100, rank_links=True, workspace=workspace
    )


def _roll(store: ClickStore, now: float = END + DAY) -> int:
    days = rollups.days_to_roll(store.client, now)
    rollups.roll_up(store.client, days, OWNERS)
    return len(days)


async def test_a_workspaces_rolled_days_answer_as_its_links_rows(click_store: ClickStore) -> None:
    generate_clicks(click_store.client, MIX)
    expected = {interval: await _asked(click_store, "", interval) for interval in ("day", "hour")}
    assert expected["day"].totals.clicks > 0 and expected["day"].links
    assert _roll(click_store) == 20  # every day with clicks, all closed a day later
    assert _roll(click_store) == 0  # rolled days stay rolled
    assert len(rollups.valid_days(click_store.client, END - 14 * DAY, END - 2 * DAY)) == 12
    for interval, answer in expected.items():
        assert await _asked(click_store, "w1", interval) == answer, interval
    # The rolled days are read from the workspace's rows: another workspace's differ.
    assert await _asked(click_store, "w2") != expected["day"]


async def test_an_erasure_or_a_late_click_is_never_answered_from_a_stale_rollup(
    click_store: ClickStore,
) -> None:
    generate_clicks(click_store.client, MIX)
    _roll(click_store)
    await erase_clicks(click_store, ["L1"], ErasureRange(END - 10 * DAY, END - 6 * DAY))
    erased = await _asked(click_store, "")
    assert await _asked(click_store, "w1") == erased
    assert _roll(click_store) == 4  # the erased days, rolled again
    assert await _asked(click_store, "w1") == erased
    late = ClickRow("late-1", "L4", END - 9 * DAY + 60, "GET", "", 7, "FR", "Paris", None, None,
                    "mobile", "iOS", "Safari", "x", "", "", False, True)  # fmt: skip
    assert click_store.insert_sync([late]) == [late]
    with_late = await _asked(click_store, "")
    assert with_late.totals.clicks == erased.totals.clicks + 1
    assert await _asked(click_store, "w1") == with_late
    assert _roll(click_store) == 1
    assert await _asked(click_store, "w1") == with_late


async def test_the_sweep_rolls_closed_days_with_postgresqls_workspaces(
    backends: Backends, click_store: ClickStore, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO workspaces (slug, name) VALUES ('wr-a', 'wr-a')")
        for code in ("L0", "L1", "L2"):
            await conn.execute(
                "INSERT INTO links (code, target, owner) VALUES ($1, 'https://x.example/', 'wr-a')",
                code,
            )
        await conn.execute("UPDATE links SET deleted_at = now() WHERE code = 'L2'")
    finally:
        await conn.close()
    assert sorted(await backends.links.link_workspaces()) == [("L0", "wr-a"), ("L1", "wr-a")]
    generate_clicks(click_store.client, MIX)
    client = click_store.client

    async def pending(now: float) -> RollupWork:
        return rollups.pending(client, now)

    async def roll(work: RollupWork, owners: Sequence[tuple[str, str]]) -> None:
        rollups.roll_up_work(client, work, owners)

    sweep = WorkspaceRollups(backends.links, pending, roll, clock=lambda: END + 2 * HOUR)
    assert await sweep.sweep() == 20 + 1 and await sweep.sweep() == 0  # the days, September
    codes = ["L0", "L1"]
    asked = await click_store.stats_of(codes, START, STOP, rank_links=True, workspace="wr-a")
    assert asked == await click_store.stats_of(codes, START, STOP, rank_links=True)
    assert asked.totals.clicks > 0


async def test_no_pending_days_read_no_links() -> None:
    class Unread:
        async def link_workspaces(self) -> list[tuple[str, str]]:
            raise AssertionError("read PostgreSQL with nothing to roll")

    async def nothing(now: float) -> None:
        return None

    async def roll(work: RollupWork, owners: Sequence[tuple[str, str]]) -> None:
        raise AssertionError("rolled with nothing to roll")

    assert await WorkspaceRollups(Unread(), nothing, roll).sweep() == 0


async def test_months_alone_are_rolled_without_reading_the_links() -> None:
    class Unread:
        async def link_workspaces(self) -> list[tuple[str, str]]:
            raise AssertionError("read PostgreSQL for months, which need no owners")

    rolled: list[RollupWork] = []

    async def months(now: float) -> RollupWork:
        return RollupWork(months=(END - 40 * DAY,))

    async def roll(work: RollupWork, owners: Sequence[tuple[str, str]]) -> None:
        rolled.append(work)
        assert owners == []

    assert await WorkspaceRollups(Unread(), months, roll).sweep() == 1
    assert rolled == [RollupWork(months=(END - 40 * DAY,))]


# 2025-07-27 to 2025-10-10: July ragged, August and September whole, October open.
MONTHS_MIX = Mix(clicks=30_000, links=20, end=END, days=75)
AUGUST, SEPTEMBER = 1_754_006_400, 1_756_684_800
HOT = ["L0", "L3"]
# Ragged: July's last days and an edge hour before the two whole months, October after.
MONTHS_FROM, MONTHS_TO = END - 72 * DAY + 7 * HOUR, END - 3 * HOUR


async def _months_asked(store: ClickStore, raw_rows: bool = False) -> LinkStats:
    return await store.stats_of(HOT, MONTHS_FROM, MONTHS_TO, limit=100, raw_rows=raw_rows)


def _roll_months(store: ClickStore, now: float = END + DAY) -> list[int]:
    months = rollups.months_to_roll(store.client, now)
    rollups.roll_up_work(store.client, RollupWork(months=tuple(months)), [])
    return months


async def test_a_links_rolled_months_answer_as_its_daily_rows(click_store: ClickStore) -> None:
    generate_clicks(click_store.client, MONTHS_MIX)
    expected = await _months_asked(click_store)
    assert expected.totals.clicks > 0 and expected.totals.unique_visitors > 0
    assert rollups.months_to_roll(click_store.client, AUGUST + HOUR) == []  # July's grace
    assert rollups.months_to_roll(click_store.client, AUGUST + GRACE_OVER) == [AUGUST - 31 * DAY]
    assert _roll_months(click_store) == [AUGUST - 31 * DAY, AUGUST, SEPTEMBER]  # not October
    assert _roll_months(click_store) == []
    assert [str(m) for m in rollups.valid_months(click_store.client, [AUGUST, SEPTEMBER])] == [
        "2025-08-01",
        "2025-09-01",
    ]
    assert await _months_asked(click_store) == expected
    # Read from the monthly rows: without September's breakdowns the answer differs.
    click_store.client.command("DELETE FROM monthly_breakdowns WHERE month = '2025-09-01'")
    assert (await _months_asked(click_store)).countries != expected.countries


async def test_an_erasure_or_a_late_click_is_never_answered_from_a_stale_month(
    click_store: ClickStore,
) -> None:
    generate_clicks(click_store.client, MONTHS_MIX)
    _roll_months(click_store)
    await erase_clicks(click_store, ["L0"], ErasureRange(AUGUST + 3 * DAY, AUGUST + 5 * DAY))
    erased = await _months_asked(click_store)
    assert erased == await _months_asked(click_store, raw_rows=True)
    assert rollups.valid_months(click_store.client, [AUGUST, SEPTEMBER])[0].month == 9
    assert _roll_months(click_store) == [AUGUST]  # the erased month, rolled again
    assert await _months_asked(click_store) == erased
    late = ClickRow("late-m", "L3", SEPTEMBER + 9 * DAY + 60, "GET", "", 7, "FR", "Paris", None,
                    None, "mobile", "iOS", "Safari", "x", "", "", False, True)  # fmt: skip
    assert click_store.insert_sync([late]) == [late]
    with_late = await _months_asked(click_store)
    assert with_late.totals.clicks == erased.totals.clicks + 1
    assert _roll_months(click_store) == [SEPTEMBER]
    assert await _months_asked(click_store) == with_late
