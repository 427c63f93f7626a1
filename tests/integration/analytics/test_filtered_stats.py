"""Stats with filters, a timezone, several links (a workspace) and realtime (issue 23),
on the real engine (chDB), checked against the raw rows counted the obvious way."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shortlink.adapters.clickhouse import ClickStore
from shortlink.domain.analytics import DAY, HOUR, ClickRow, Count, LinkStats, stats_range
from shortlink.domain.stats_filters import Filter, counted_visitors, parse_filters

T0 = int(datetime(2024, 3, 29, tzinfo=UTC).timestamp())  # Europe's DST starts on the 31st
CODES = ("abc1234", "abc1234", "def5678", "ghi9012")


def _row(n: int, ts: float, **fields: object) -> ClickRow:
    base = ClickRow(
        event_id=f"ev-{n}", code="abc1234", ts=ts, method="GET", ip="203.0.113.0",
        visitor_id=n, country="US", city="Portland", lat=None, lon=None, device="desktop",
        os="Windows", browser="Chrome", user_agent="Mozilla/5.0", referrer="",
        referrer_host="", is_bot=False, is_human=True,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def _random_rows(count: int, start: float, span: float, seed: int = 7) -> list[ClickRow]:
    rng = random.Random(seed)
    choice = rng.choice
    rows = []
    for n in range(count):
        bot = rng.random() < 0.1
        head = rng.random() < 0.05
        rule = choice(["", "", "ios"])
        rows.append(
            _row(
                n,
                start + rng.uniform(0, span),
                code=choice(CODES),
                method="HEAD" if head else "GET",
                visitor_id=rng.randrange(300),
                country=choice(["US", "DE", "FR", ""]),
                city=choice(["A", "B", ""]),
                device=choice(["desktop", "mobile", "tablet"]),
                os=choice(["Windows", "iOS", "Android"]),
                browser=choice(["Chrome", "Firefox", "Safari"]),
                referrer_host=choice(["", "t.co", "google.com"]),
                rule_id=rule,
                variant_id=choice(["", "a", "b"]),
                tags=choice([(), ("launch",), ("launch", "app")]),
                is_bot=bot,
                is_human=not bot and not head,
            )
        )
    return rows


def _value(row: ClickRow, dimension: str) -> list[str]:
    """What a click shows in a breakdown ("" none), as the stats spell it."""
    match dimension:
        case "city":
            return [f"{row.city}, {row.country}" if row.city and row.country else row.city]
        case "referrer":
            return [row.referrer_host]
        case "rule":
            return [row.rule_id]
        case "variant":
            return [f"{row.rule_id or 'link'}/{row.variant_id}" if row.variant_id else ""]
        case "tag":
            return list(row.tags)
        case "link":
            return [row.code]
    return [str(getattr(row, dimension))]


def _holds(row: ClickRow, f: Filter) -> bool:
    if f.dimension == "visitor":
        return True  # chooses whom the clicks count, below
    values = _value(row, f.dimension)
    inside = f.value in values if values or f.value else True
    if f.dimension == "tag" and not f.value:
        inside = not row.tags
    return inside != f.negated


def _local_floor(ts: float, interval: str, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(ts, zone)
    if interval == "day":
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        local = local.replace(minute=0, second=0, microsecond=0)
    return int(local.timestamp())


def _expected(
    rows: list[ClickRow], codes: set[str], start: float, end: float, interval: str,
    zone: str, filters: tuple[Filter, ...],
) -> dict[str, object]:  # fmt: skip
    span = stats_range(start, end, interval)
    kept = [
        r for r in rows
        if r.code in codes and span.start <= r.ts < span.end and all(_holds(r, f) for f in filters)
    ]  # fmt: skip
    who = counted_visitors(filters)
    counted: Callable[[ClickRow], bool] = {
        "human": lambda r: r.is_human, "bot": lambda r: r.is_bot, "none": lambda r: False
    }[who]  # fmt: skip
    chosen = [r for r in kept if counted(r)]
    per_bucket = Counter(_local_floor(r.ts, interval, ZoneInfo(zone)) for r in chosen)

    def top(dimension: str) -> list[tuple[str, int]]:
        counts = Counter(v for r in chosen for v in _value(r, dimension) if v)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]

    return {
        "totals": (len(chosen), sum(r.is_bot for r in kept), len({r.visitor_id for r in chosen})),
        "series": dict(per_bucket),
        **{d: top(d) for d in ("country", "city", "device", "os", "browser", "referrer",
                               "rule", "variant", "tag", "link")},
    }  # fmt: skip


def _actual(stats: LinkStats) -> dict[str, object]:
    def pairs(counts: tuple[Count, ...]) -> list[tuple[str, int]]:
        return [(c.value, c.clicks) for c in counts]

    return {
        "totals": (stats.totals.clicks, stats.totals.bot_clicks, stats.totals.unique_visitors),
        "series": {p.t: p.clicks for p in stats.series if p.clicks},
        "country": pairs(stats.countries), "city": pairs(stats.cities),
        "device": pairs(stats.devices), "os": pairs(stats.os), "browser": pairs(stats.browsers),
        "referrer": pairs(stats.referrers), "rule": pairs(stats.rules),
        "variant": pairs(stats.variants), "tag": pairs(stats.tags), "link": pairs(stats.links),
    }  # fmt: skip


FILTER_CASES = [
    (),
    ("country:is:DE",),
    ("country:is_not:DE", "device:is:mobile"),
    ("city:is:A, FR",),
    ("referrer:is:",),  # direct
    ("referrer:is_not:", "browser:is_not:Chrome"),
    ("tag:is:app",),
    ("tag:is_not:launch",),
    ("tag:is:",),
    ("rule:is:ios", "variant:is:ios/a"),
    ("variant:is:link/b",),
    ("visitor:is:bot",),
    ("visitor:is_not:bot", "os:is:iOS"),
    ("visitor:is:bot", "visitor:is:human"),
    ("country:is:nowhere",),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: " & ".join(f) or "none")
async def test_filtered_stats_match_the_raw_rows(
    click_store: ClickStore, filters: tuple[str, ...]
) -> None:
    rows = _random_rows(2000, T0, 5 * DAY)
    await click_store.insert(rows)
    parsed = parse_filters(filters)
    cases = [
        ({"abc1234"}, T0, T0 + 5 * DAY, "day", "UTC"),
        ({"abc1234"}, T0 + 5 * HOUR + 7, T0 + 3 * DAY - 100, "hour", "UTC"),
        ({"abc1234", "def5678"}, T0, T0 + 5 * DAY, "day", "Europe/Paris"),
        ({"abc1234", "def5678", "ghi9012"}, T0 - DAY, T0 + 4 * DAY, "day", "Asia/Kolkata"),
        ({"ghi9012"}, T0 + DAY, T0 + 2 * DAY, "hour", "Asia/Kolkata"),
    ]
    for codes, start, end, interval, zone in cases:
        stats = await click_store.stats_of(
            sorted(codes),
            start,
            end,
            interval,
            timezone=zone,
            filters=parsed,
            rank_links=len(codes) > 1,
        )
        expected = _expected(rows, codes, start, end, interval, zone, parsed)
        if len(codes) == 1:
            expected["link"] = []  # one link: no top links
        assert _actual(stats) == expected, (codes, start, end, interval, zone)


async def test_daily_buckets_follow_the_timezone(click_store: ClickStore) -> None:
    paris = ZoneInfo("Europe/Paris")
    # 23:30 in Paris on the 30th is 22:30 UTC; 00:30 on the 31st (after DST? no: 01:00
    # UTC is 03:00 CEST) ... one click each side of Paris midnight
    before = datetime(2024, 3, 30, 23, 30, tzinfo=paris).timestamp()
    after = datetime(2024, 3, 31, 0, 30, tzinfo=paris).timestamp()
    await click_store.insert([_row(1, before), _row(2, after)])
    start = datetime(2024, 3, 29, tzinfo=paris).timestamp()
    end = datetime(2024, 4, 2, tzinfo=paris).timestamp()
    stats = await click_store.stats_of(["abc1234"], start, end, "day", timezone="Europe/Paris")
    days = [datetime.fromtimestamp(p.t, paris) for p in stats.series]
    assert [(d.day, d.hour) for d in days] == [(29, 0), (30, 0), (31, 0), (1, 0)]
    assert [p.clicks for p in stats.series] == [0, 1, 1, 0]
    # the 31st is 23 hours long there (summer time starts)
    assert stats.series[3].t - stats.series[2].t == 23 * HOUR
    utc = await click_store.stats_of(["abc1234"], start, end, "day")
    assert sum(p.clicks for p in utc.series) == 2
    assert [p.clicks for p in utc.series if p.clicks] == [2]  # both on the 30th in UTC


async def test_the_raw_path_agrees_with_the_aggregates(click_store: ClickStore) -> None:
    rows = _random_rows(2000, T0, 5 * DAY, seed=3)
    await click_store.insert(rows)
    everything = parse_filters(["country:is_not:nowhere"])  # a filter: the raw path
    for start, end, interval in [(T0, T0 + 5 * DAY, "day"), (T0 + 3 * HOUR, T0 + DAY, "hour")]:
        plain = await click_store.stats("abc1234", start, end, interval)
        filtered = await click_store.stats_of(["abc1234"], start, end, interval, filters=everything)
        raw = await click_store.stats_of(["abc1234"], start, end, interval, raw_rows=True)
        for other in (filtered, raw):
            assert other.series == plain.series and other.totals == plain.totals
            assert (other.countries, other.tags, other.variants) == (
                plain.countries, plain.tags, plain.variants,
            )  # fmt: skip
        # Another zone: totals and breakdowns from the aggregates, its series from the
        # hourly ones (whole-hour offsets) or the raw clicks (+05:30); as the raw rows say.
        for zone in ("Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe"):
            zoned = await click_store.stats_of(["abc1234"], start, end, interval, timezone=zone)
            from_rows = await click_store.stats_of(
                ["abc1234"], start, end, interval, timezone=zone, raw_rows=True
            )
            assert zoned == from_rows, zone


async def test_workspace_stats_add_up_its_links_and_rank_them(click_store: ClickStore) -> None:
    rows = [_row(i, T0 + i, code="top0001") for i in range(5)]
    rows += [_row(10 + i, T0 + i, code="mid0002", country="DE") for i in range(3)]
    rows += [_row(20 + i, T0 + i, code="notmine") for i in range(7)]
    await click_store.insert(rows)
    mine = ["top0001", "mid0002", "nolinks"]
    stats = await click_store.stats_of(mine, T0, T0 + DAY, "day", rank_links=True)
    assert stats.totals.clicks == 8
    assert stats.links == (Count("top0001", 5), Count("mid0002", 3))
    assert stats.countries == (Count("US", 5), Count("DE", 3))
    filtered = await click_store.stats_of(
        mine, T0, T0 + DAY, "day", filters=parse_filters(["country:is:DE"]), rank_links=True
    )
    assert filtered.links == (Count("mid0002", 3),)
    alone = await click_store.stats_of(["top0001"], T0, T0 + DAY, "day", rank_links=True)
    assert alone.links == (Count("top0001", 5),)  # a workspace of one link ranks it too
    empty = await click_store.stats_of([], T0, T0 + DAY, "hour")
    assert empty.totals.clicks == 0 and len(empty.series) == 24


async def test_realtime_is_the_last_30_minutes_per_minute(click_store: ClickStore) -> None:
    now = T0 + 10 * HOUR + 15 * 60 + 20  # 10:15:20
    rows = [
        _row(1, now - 31 * 60),  # 09:44:20: out
        _row(2, now - 29 * 60 - 10, country="DE"),  # 09:46:10: the first minute
        _row(3, now - 5),
        _row(4, now - 4, is_human=False, is_bot=True),
        _row(5, now - 3, code="other00"),
        _row(6, now + 60),  # the future: out
    ]
    await click_store.insert(rows)
    live = await click_store.realtime(["abc1234"], now)
    assert live.interval == "minute" and len(live.series) == 30
    assert live.series[0].t == now - now % 60 - 29 * 60 and live.end == now - now % 60 + 60
    assert [p.clicks for p in live.series] == [1] + [0] * 28 + [1]
    assert (live.totals.clicks, live.totals.bot_clicks) == (2, 1)
    assert live.countries == (Count("DE", 1), Count("US", 1))
    only_de = await click_store.realtime(["abc1234"], now, parse_filters(["country:is:DE"]))
    assert only_de.totals.clicks == 1
