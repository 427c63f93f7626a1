"""A batch of clicks cut short mid-insert, then replayed: nothing lost, nothing doubled.

The cut is made on the real engine: a CHECK constraint that fails stops the insert at
one table, as a writer killed there would (``clicks`` is written first, then its views
one by one). The writer's last step, settling the batch, never runs. A SIGKILL version
of this is tests/e2e/test_analytics.py's ingest test; a constraint puts the cut at a
chosen table every time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from shortlink.adapters.clickhouse import ClickStore
from shortlink.domain.analytics import HOUR, ClickRow
from tests.harness.synthetic_clicks import click_row

T0 = 1_709_683_200  # 2024-03-06 00:00 UTC
# Every table an insert into `clicks` writes, with what sums to the clicks it holds.
COUNTED = {
    "clicks": "SELECT count() FROM clicks FINAL",
    "hourly_stats": "SELECT sum(events) FROM hourly_stats",
    "daily_stats": "SELECT sum(events) FROM daily_stats",
    "hourly_breakdowns": "SELECT sum(clicks) FROM hourly_breakdowns WHERE dimension = 'os'",
    "daily_breakdowns": "SELECT sum(clicks) FROM daily_breakdowns WHERE dimension = 'os'",
}


def _rows(first: int, count: int) -> list[ClickRow]:
    # 30 s apart: a batch of 300 spans hours, so hourly tables get several parts
    return [click_row(n, T0 + 30 * n + 0.25, code="cut1234") for n in range(first, first + count)]


def _counts(store: ClickStore) -> dict[str, int]:
    return {table: store.client.query(sql).result_rows[0][0] for table, sql in COUNTED.items()}


@contextmanager
def _failing(store: ClickStore, table: str) -> Iterator[None]:
    """Inserts into ``table`` fail while inside (and so does the insert reaching it)."""
    store.client.command(f"ALTER TABLE {table} ADD CONSTRAINT cut CHECK 0")
    try:
        yield
    finally:
        store.client.command(f"ALTER TABLE {table} DROP CONSTRAINT cut")


@pytest.mark.parametrize("cut_at", ["hourly_stats", "hourly_breakdowns", "daily_breakdowns"])
async def test_a_batch_cut_between_views_is_finished_by_its_replay(
    click_store: ClickStore, cut_at: str
) -> None:
    assert len(await click_store.insert(_rows(0, 100))) == 100
    cut = _rows(100, 300)
    with _failing(click_store, cut_at), pytest.raises(Exception, match="cut"):
        await click_store.insert(cut)
    torn = _counts(click_store)
    assert torn["clicks"] == 400 and torn[cut_at] == 100  # the cut, as a crash leaves it

    # The replay (the whole batch again, in other batches, with new clicks after it)
    replayed = await click_store.insert(cut[:150])
    replayed += await click_store.insert([*cut[150:], *_rows(400, 50)])

    assert sorted(row.event_id for row in replayed) == [f"ev-{n}" for n in range(400, 450)]
    assert _counts(click_store) == dict.fromkeys(COUNTED, 450)
    stats = await click_store.stats("cut1234", T0, T0 + 6 * HOUR, "hour")
    assert stats.totals.clicks == 450 and stats.totals.unique_visitors == 450


async def test_a_batch_cut_before_clicks_took_it_is_stored_afresh(
    click_store: ClickStore,
) -> None:
    cut = _rows(0, 300)
    with _failing(click_store, "clicks"), pytest.raises(Exception, match="cut"):
        await click_store.insert(cut)
    named = click_store.client.query("SELECT count() FROM click_ids").result_rows
    assert named == [(300,)] and _counts(click_store) == dict.fromkeys(COUNTED, 0)

    assert len(await click_store.insert(cut)) == 300
    assert _counts(click_store) == dict.fromkeys(COUNTED, 300)
    assert await click_store.insert(cut) == []  # and a second replay is a duplicate
    assert _counts(click_store) == dict.fromkeys(COUNTED, 300)


async def test_a_batch_spanning_two_months_is_written_as_two(click_store: ClickStore) -> None:
    end_of_february = T0 - 5 * 86_400 - 60  # 2024-02-29 23:59 UTC
    rows = [click_row(n, end_of_february + n * 30) for n in range(4)]
    await click_store.insert(rows)
    named = click_store.client.query("SELECT uniqExact(batch) FROM click_ids").result_rows
    assert named == [(2,)]
    assert _counts(click_store) == dict.fromkeys(COUNTED, 4)


async def test_a_landed_batch_its_writer_died_before_marking_is_known_after(
    click_store: ClickStore, clickhouse_url: str
) -> None:
    rows = _rows(0, 300)
    await click_store.insert(rows)  # landed; its mark waits for the next MARK_EVERY
    assert click_store.client.query("SELECT count() FROM stored_batches").result_rows == [(0,)]

    restarted = ClickStore.connect(clickhouse_url)  # the writer after a crash
    try:
        assert await restarted.insert(rows[100:]) == []  # written again: a no-op
        assert _counts(restarted) == dict.fromkeys(COUNTED, 300)
        marks = restarted.client.query("SELECT landed FROM stored_batches").result_rows
        assert marks == [(True,)]
        assert await restarted.insert(rows) == []  # settled: no second look at `clicks`
    finally:
        restarted.close()
    assert _counts(click_store) == dict.fromkeys(COUNTED, 300)


async def test_closing_a_store_marks_what_it_landed(clickhouse_url: str) -> None:
    writer = ClickStore.connect(clickhouse_url)
    await writer.apply_migrations()
    await writer.insert(_rows(0, 10))
    await writer.insert(_rows(10, 10))
    writer.close()
    reader = ClickStore.connect(clickhouse_url)
    try:
        marks = reader.client.query("SELECT count(), countIf(landed) FROM stored_batches")
        assert marks.result_rows == [(2, 2)]
    finally:
        reader.close()
