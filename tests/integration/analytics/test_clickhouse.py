"""ClickStore on the real ClickHouse engine (chDB): migrations, inserts, replays, stats."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime

from shortlink.adapters.clickhouse import ClickStore, available_migrations
from shortlink.domain.analytics import (
    DAY,
    HOUR,
    ClickRow,
    ClickSummary,
    Count,
    LinkStats,
    stats_range,
)
from tests.harness.synthetic_clicks import click_row as _row
from tests.harness.synthetic_clicks import insert_million_style

T0 = int(datetime(2024, 3, 5, tzinfo=UTC).timestamp())  # a Tuesday, 00:00 UTC


def _expected(
    rows: list[ClickRow], code: str, start: int, end: int, interval: str
) -> dict[str, object]:
    """What the stats must be, computed the slow, obvious way from the raw rows."""
    span = stats_range(start, end, interval)
    inside = [r for r in rows if r.code == code and span.start <= r.ts < span.end]
    human = [r for r in inside if r.is_human]
    step = DAY if interval == "day" else HOUR
    per_bucket = Counter(int(r.ts) // step * step for r in human)

    def top(values: list[str]) -> list[tuple[str, int]]:
        counts = Counter(v for v in values if v)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]

    return {
        "totals": (len(human), sum(r.is_bot for r in inside), len({r.visitor_id for r in human})),
        "series": [(t, per_bucket.get(t, 0)) for t in span.bucket_starts()],
        "countries": top([r.country for r in human]),
        "cities": top(
            [f"{r.city}, {r.country}" if r.city and r.country else r.city for r in human]
        ),
        "devices": top([r.device for r in human]),
        "os": top([r.os for r in human]),
        "browsers": top([r.browser for r in human]),
        "referrers": top([r.referrer_host for r in human]),
    }


def _actual(stats: LinkStats) -> dict[str, object]:
    def pairs(counts: tuple[Count, ...]) -> list[tuple[str, int]]:
        return [(c.value, c.clicks) for c in counts]

    return {
        "totals": (stats.totals.clicks, stats.totals.bot_clicks, stats.totals.unique_visitors),
        "series": [(p.t, p.clicks) for p in stats.series],
        "countries": pairs(stats.countries),
        "cities": pairs(stats.cities),
        "devices": pairs(stats.devices),
        "os": pairs(stats.os),
        "browsers": pairs(stats.browsers),
        "referrers": pairs(stats.referrers),
    }


async def test_migrations_are_idempotent(click_store: ClickStore) -> None:
    assert await click_store.apply_migrations() == []  # the fixture applied them
    versions = click_store.client.query("SELECT version FROM schema_migrations FINAL").result_rows
    assert sorted(v for (v,) in versions) == [v for v, _, _ in available_migrations()]
    # a migration cut short (recorded nowhere) is simply run again
    click_store.client.command("TRUNCATE TABLE schema_migrations")
    assert await click_store.apply_migrations() == [
        "0001_clicks",
        "0002_link_rules",
        "0004_recent_clicks",
        "0005_workspace_rollups",
        "0006_batch_tokens",
        "0007_monthly_rollups",
    ]
    tables = {
        name
        for (name,) in click_store.client.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        ).result_rows
    }
    assert {"clicks", "click_ids", "daily_stats", "hourly_stats", "daily_breakdowns"} <= tables
    assert {"hourly_breakdowns", "daily_stats_mv", "hourly_breakdowns_mv"} <= tables
    assert "click_ids_mv" not in tables  # 0001 made it again, 0006 dropped it again


async def test_stats_count_human_gets_only_and_rank_breakdowns(click_store: ClickStore) -> None:
    rows = [
        # 6 human GETs from 4 visitors over two days
        _row(1, T0 + 10, visitor_id=1),
        _row(2, T0 + 20, visitor_id=1, country="DE", city="Berlin", device="mobile", os="iOS",
             browser="Mobile Safari", referrer="", referrer_host=""),
        _row(3, T0 + HOUR + 5, visitor_id=2, country="DE", city="Berlin", device="mobile",
             os="Android", browser="Chrome Mobile", referrer_host="t.co"),
        _row(4, T0 + DAY + 1, visitor_id=3, country="DE", city="Berlin"),
        _row(5, T0 + DAY + 2, visitor_id=4, country="", city="", lat=None, lon=None,
             device="tablet", referrer_host="t.co"),
        _row(6, T0 + DAY + 3, visitor_id=4, referrer_host="t.co"),
        # not human: a HEAD probe, two link previews, a bot's HEAD
        _row(7, T0 + 30, method="HEAD", is_human=False, visitor_id=99),
        _row(8, T0 + 40, is_bot=True, is_human=False, device="bot", visitor_id=98),
        _row(9, T0 + DAY + 50, is_bot=True, is_human=False, device="bot", visitor_id=97),
        _row(10, T0 + DAY + 60, method="HEAD", is_bot=True, is_human=False, visitor_id=96),
        # another link: never in this one's stats
        _row(11, T0 + 70, code="other99"),
    ]  # fmt: skip
    assert len(await click_store.insert(rows)) == len(rows)
    stats = await click_store.stats("abc1234", T0, T0 + 2 * DAY, "day")
    assert (stats.start, stats.end, stats.interval) == (T0, T0 + 2 * DAY, "day")
    assert (stats.totals.clicks, stats.totals.bot_clicks, stats.totals.unique_visitors) == (6, 3, 4)
    assert [(p.t, p.clicks) for p in stats.series] == [(T0, 3), (T0 + DAY, 3)]
    assert stats.countries == (Count("DE", 3), Count("US", 2))  # unknown ("") left out
    assert stats.cities == (Count("Berlin, DE", 3), Count("Portland, US", 2))
    assert stats.devices == (Count("desktop", 3), Count("mobile", 2), Count("tablet", 1))
    assert stats.os == (Count("Windows", 4), Count("Android", 1), Count("iOS", 1))
    assert stats.referrers == (Count("t.co", 3), Count("google.com", 2))  # direct left out
    assert stats.browsers[0] == Count("Chrome", 4)
    assert _actual(stats) == _expected(rows, "abc1234", T0, T0 + 2 * DAY, "day")

    hourly = await click_store.stats("abc1234", T0, T0 + 3 * HOUR, "hour")
    assert [(p.t, p.clicks) for p in hourly.series] == [(T0, 2), (T0 + HOUR, 1), (T0 + 2 * HOUR, 0)]
    assert (hourly.totals.clicks, hourly.totals.bot_clicks, hourly.totals.unique_visitors) == (
        3,
        1,
        2,
    )

    assert await click_store.link_total("abc1234") == 6
    assert await click_store.link_total("other99") == 1
    assert await click_store.link_total("nothing") == 0
    assert await click_store.link_totals(["abc1234", "other99", "nothing"], 0) == {
        "abc1234": 6,
        "other99": 1,
    }
    assert await click_store.link_totals(["abc1234", "other99"], 5) == {"abc1234": 6}
    assert await click_store.link_totals([], 0) == {}
    empty = await click_store.stats("nothing", T0, T0 + DAY, "hour")
    assert empty.totals.clicks == 0 and len(empty.series) == 24 and empty.countries == ()


async def test_click_summaries_of_many_links_in_one_query(click_store: ClickStore) -> None:
    today = date(2024, 3, 12)  # T0 + 7 days
    rows = [
        _row(1, T0 - 30 * DAY),  # long ago: in the total only
        _row(2, T0 + DAY + 5),  # March 6: the first of the 7 days
        _row(3, T0 + DAY + 6, is_bot=True, is_human=False),  # bots are not clicks
        _row(4, T0 + 7 * DAY + 1),  # today
        _row(5, T0 + 7 * DAY + 2),
        _row(6, T0 + 8 * DAY),  # tomorrow: after the window
        _row(7, T0 + 3 * DAY, code="other99"),
    ]
    await click_store.insert(rows)
    summaries = await click_store.click_summaries(["abc1234", "other99", "nothing"], today)
    assert summaries == {
        "abc1234": ClickSummary(5, (1, 0, 0, 0, 0, 0, 2)),
        "other99": ClickSummary(1, (0, 0, 1, 0, 0, 0, 0)),
        "nothing": ClickSummary(0, (0,) * 7),
    }
    assert await click_store.click_summaries([], today) == {}


async def test_breakdown_limit_keeps_the_largest(click_store: ClickStore) -> None:
    rows = [_row(i, T0 + i, country=f"C{i % 5}", visitor_id=i) for i in range(15)]
    rows += [_row(100 + i, T0 + 100 + i, country="C9") for i in range(10)]
    await click_store.insert(rows)
    stats = await click_store.stats("abc1234", T0, T0 + DAY, "day", limit=3)
    assert stats.countries == (Count("C9", 10), Count("C0", 3), Count("C1", 3))
    assert len(stats.devices) == 1


async def test_replays_are_dropped(click_store: ClickStore) -> None:
    rows = [_row(i, T0 + i * 60) for i in range(50)]
    assert len(await click_store.insert(rows)) == 50
    # the whole batch again (a worker crashed before committing its offsets)
    assert len(await click_store.insert(rows)) == 0
    # a batch overlapping the last one, with a duplicate inside itself too
    new = [_row(i, T0 + i * 60) for i in range(50, 60)]
    overlap = rows[40:] + new + [new[5]]
    stored = await click_store.insert(overlap)
    assert [row.event_id for row in stored] == [row.event_id for row in new]
    stats = await click_store.stats("abc1234", T0, T0 + DAY, "day")
    assert stats.totals.clicks == 60
    raw = click_store.client.query("SELECT count(), uniqExact(event_id) FROM clicks").result_rows
    assert raw == [(60, 60)]

    ids = [f"ev-{i}" for i in (0, 59, 1000)]
    assert await click_store.existing_event_ids(ids) == {"ev-0", "ev-59"}
    # the time window bounds the lookup: ev-59 is at T0 + 59 min
    assert await click_store.existing_event_ids(ids, since=T0, until=T0 + 30 * 60) == {"ev-0"}
    assert await click_store.existing_event_ids(ids, since=T0 + 59 * 60, until=T0 + 59 * 60) == {
        "ev-59"
    }
    assert await click_store.existing_event_ids([]) == set()


async def test_time_range_boundaries(click_store: ClickStore) -> None:
    ten = T0 + 10 * HOUR
    rows = [
        _row(1, ten - 0.001),  # 09:59:59.999: before
        _row(2, ten),  # 10:00:00.000: first instant inside
        _row(3, ten + 2 * HOUR - 0.001),  # 11:59:59.999: last instant inside
        _row(4, ten + 2 * HOUR),  # 12:00:00: the exclusive end
    ]
    await click_store.insert(rows)
    stats = await click_store.stats("abc1234", ten, ten + 2 * HOUR, "hour")
    assert [(p.t, p.clicks) for p in stats.series] == [(ten, 1), (ten + HOUR, 1)]
    assert stats.totals.clicks == 2
    # unaligned ends widen to whole hours: 10:30-11:15 reads 10:00-12:00
    widened = await click_store.stats(
        "abc1234", datetime.fromtimestamp(ten + 1800, UTC), ten + HOUR + 900, "hour"
    )
    assert (widened.start, widened.end, widened.totals.clicks) == (ten, ten + 2 * HOUR, 2)
    # naive datetimes are UTC
    naive = datetime.fromtimestamp(ten, UTC).replace(tzinfo=None)
    assert (await click_store.stats("abc1234", naive, ten + HOUR, "hour")).totals.clicks == 1


async def test_stats_match_the_raw_rows_for_any_range(click_store: ClickStore) -> None:
    """Whole days from the daily tables plus edge hours from the hourly ones must add up
    to exactly what the raw rows say, for ranges cut anywhere."""
    rng = random.Random(7)
    choice = rng.choice
    rows = []
    for n in range(3000):
        bot = rng.random() < 0.1
        head = rng.random() < 0.05
        rows.append(
            _row(
                n,
                T0 + rng.uniform(0, 5 * DAY),
                code=choice(["abc1234", "abc1234", "zzz"]),
                method="HEAD" if head else "GET",
                visitor_id=rng.randrange(400),
                country=choice(["US", "DE", "FR", "JP", ""]),
                city=choice(["A", "B", "C", ""]),
                device=choice(["desktop", "mobile", "tablet"]),
                os=choice(["Windows", "iOS", "Android", "Mac OS X"]),
                browser=choice(["Chrome", "Firefox", "Safari"]),
                referrer_host=choice(["", "t.co", "google.com", "news.ycombinator.com"]),
                is_bot=bot,
                is_human=not bot and not head,
            )
        )
    for start in range(0, len(rows), 1000):
        await click_store.insert(rows[start : start + 1000])
    cases = [(T0, T0 + 5 * DAY, "day"), (T0, T0 + 5 * DAY, "hour")]
    for _ in range(12):
        a, b = sorted(rng.uniform(-DAY, 6 * DAY) for _ in range(2))
        cases.append((T0 + int(a), T0 + int(b) + 1, choice(["day", "hour"])))
    for start, end, interval in cases:
        stats = await click_store.stats("abc1234", start, end, interval)
        assert _actual(stats) == _expected(rows, "abc1234", start, end, interval), (start, end)


async def test_a_link_with_a_million_clicks_is_counted_from_the_aggregates(
    click_store: ClickStore,
) -> None:
    """Correctness at scale; its latency is measured by `python -m benchmarks analytics_stats`."""
    client = click_store.client
    insert_million_style(client, "viral01", 1_000_000, T0, days=30)
    ((human, bots, visitors),) = client.query(
        "SELECT countIf(is_human), countIf(is_bot), uniqExactIf(visitor_id, is_human)"
        " FROM clicks WHERE code = 'viral01'"
    ).result_rows
    start, end = T0, T0 + 30 * DAY
    for interval in ("day", "hour"):
        stats = await click_store.stats("viral01", start, end, interval)
        assert stats.totals.clicks == human
        assert stats.totals.bot_clicks == bots
        assert sum(p.clicks for p in stats.series) == human
        assert len(stats.series) == (30 if interval == "day" else 720)
        # uniq is approximate above 65,536 distinct values (~2 % here)
        assert abs(stats.totals.unique_visitors - visitors) / visitors < 0.03
        assert (
            len(stats.countries) == 10 and stats.countries[0].clicks >= stats.countries[-1].clicks
        )
    # an unaligned range: edge hours from the hourly tables
    edged = await click_store.stats("viral01", start + 5 * HOUR, end - 7 * HOUR, "day")
    assert 0 < edged.totals.clicks < human
    assert await click_store.link_total("viral01") == human


async def test_replays_scattered_in_time_are_dropped_too(click_store: ClickStore) -> None:
    # a few dense bursts (window lookup) and clicks an hour apart each (id-list fallback)
    bursts = [_row(i, T0 + (i // 10) * HOUR + (i % 10) * 0.5) for i in range(30)]
    scattered = [_row(100 + i, T0 + i * HOUR + 0.25) for i in range(40)]
    for batch in (bursts, scattered):
        assert len(await click_store.insert(batch)) == len(batch)
        assert await click_store.insert(list(reversed(batch))) == []
    mixed = [*bursts[:5], *scattered[:5], _row(500, T0 + 1.0), _row(501, T0 + 50 * HOUR)]
    assert {row.event_id for row in await click_store.insert(mixed)} == {"ev-500", "ev-501"}
    count = click_store.client.query("SELECT count() FROM clicks").result_rows[0][0]
    assert count == 30 + 40 + 2


async def test_clicks_break_down_by_rule_variant_and_tag(click_store: ClickStore) -> None:
    rows = [
        _row(1, T0 + 10, rule_id="ios", tags=("launch", "app")),
        _row(2, T0 + 20, rule_id="ios", tags=("launch", "app")),
        _row(3, T0 + 30, rule_id="desktop", variant_id="a", tags=("launch", "app")),
        _row(4, T0 + 40, variant_id="b", tags=("launch", "app")),
        _row(5, T0 + 50, variant_id="b", tags=("launch", "app")),
        _row(6, T0 + 60, variant_id="b", is_human=False, is_bot=True, tags=("launch",)),
        _row(7, T0 + 70),  # a plain link's click: no rule, variant or tag
    ]
    assert len(await click_store.insert(rows)) == len(rows)
    stats = await click_store.stats("abc1234", T0, T0 + DAY, "hour")
    assert stats.rules == (Count("ios", 2), Count("desktop", 1))
    assert stats.variants == (Count("link/b", 2), Count("desktop/a", 1))
    assert stats.tags == (Count("app", 5), Count("launch", 5))  # human clicks only
    whole_days = await click_store.stats("abc1234", T0, T0 + 2 * DAY, "day")
    assert whole_days.variants == stats.variants  # through the daily rollup too
