"""analytics_stats_100m: the stats questions over a year of clicks on 100k links.

The clicks are generated inside chDB (tests/harness/synthetic_scale.py), not replayed
through ingest. Each question is answered the way the API answers it (the subject)
and by a scan of the raw ``clicks`` table (the reference), in alternated rounds
(reference, subject, reference, subject, ...) in this process. chDB stands for the
ClickHouse server (there is none on this machine), so it runs on every CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.config import RunSettings
from benchmarks.host import cpu_affinity, every_cpu, log
from benchmarks.scale_figures import MAX_P50_MS, MAX_P99_MS, bytes_per_million, question_figures
from shortlink.adapters.clickhouse import ClickStore
from tests.harness.synthetic_scale import Mix, generate_clicks, workspace_codes

LINKS = 100_000
DAY = 86_400
SUBJECT_SAMPLES = 20  # per round
REFERENCE_SAMPLES = 2  # per round: a raw scan of 100M rows takes seconds
TYPICAL_LINK = "L100"  # ~0.09 % of all clicks
HOT_LINK = "L0"  # the hottest, ~6 %
HOT_WORKSPACE = 0  # w0: the 1,000 hottest links, ~60 % of all clicks


@dataclass(frozen=True)
class Question:
    name: str
    path: str
    reference_path: str
    subject: Callable[[], object]
    reference: Callable[[], object]


def analytics_stats_100m(
    settings: RunSettings, work_dir: Path, busy: float | None
) -> dict[str, Any]:
    clicks = settings.scale_clicks
    with cpu_affinity(every_cpu()):
        store = ClickStore.connect(f"chdb://{work_dir / 'chdb'}?database=shortlink")
        try:
            store.apply_migrations_sync()
            end = int(time.time()) // 60 * 60
            log(f"  generating {clicks:,} clicks over {LINKS:,} links and 365 days")
            began = time.perf_counter()
            generate_clicks(store.client, Mix(clicks, LINKS, end))
            generate_s = time.perf_counter() - began
            log(f"  generated in {generate_s:.0f} s")
            disk = _bytes_on_disk(store)
            loop = asyncio.new_event_loop()
            try:
                figures = {
                    question.name: _timed(question, settings.rounds)
                    for question in _questions(store, loop, end)
                }
            finally:
                loop.close()
        finally:
            store.close()
    return {
        "scenario": "analytics_stats_100m",
        "clicks": clicks,
        "links": LINKS,
        "days": 365,
        "generate_s": round(generate_s, 1),
        "questions": figures,
        "disk_bytes": disk,
        "disk_bytes_per_million_clicks": bytes_per_million(disk, clicks),
        "rounds": settings.rounds,
        "statistic": f"{SUBJECT_SAMPLES} subject and {REFERENCE_SAMPLES} reference samples per"
        " round, alternated (reference, subject, ...); p50/p99 over all subject samples,"
        " reference and ratio from the medians of rounds",
        "reference": "the same question scanned from the raw clicks table",
        "engine": "chDB 26.9 in the benchmark process on every CPU (no ClickHouse server here)",
        "host_busy_percent_before": busy,
        "quick": settings.quick,
        "target": f"p50 < {MAX_P50_MS:g} ms and p99 < {MAX_P99_MS:g} ms for each question",
        "meets_target": all(one["meets_target"] for one in figures.values()),
    }


def _timed(question: Question, rounds: int) -> dict[str, Any]:
    log(f"  {question.name}")
    question.subject()
    question.reference()  # warm-up: the first read of a part loads its marks
    subject_rounds: list[list[float]] = []
    reference_rounds: list[list[float]] = []
    for _ in range(max(1, rounds)):
        reference_rounds.append([_ms(question.reference) for _ in range(REFERENCE_SAMPLES)])
        subject_rounds.append([_ms(question.subject) for _ in range(SUBJECT_SAMPLES)])
    return {
        "path": question.path,
        "reference_path": question.reference_path,
        **question_figures(subject_rounds, reference_rounds),
    }


def _ms(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000


def _bytes_on_disk(store: ClickStore) -> dict[str, int]:
    rows = store.client.query(
        "SELECT table, sum(bytes_on_disk) FROM system.parts WHERE active"
        " AND database = currentDatabase() AND table != 'schema_migrations' GROUP BY table"
    ).result_rows
    return dict(sorted((str(table), int(size)) for table, size in rows))


def _questions(store: ClickStore, loop: asyncio.AbstractEventLoop, end: int) -> list[Question]:
    month = end - 30 * DAY
    year = end - 365 * DAY
    codes = workspace_codes(HOT_WORKSPACE, LINKS)
    query = store.client.query

    def stats(code: str, start: int, interval: str) -> Callable[[], object]:
        return lambda: loop.run_until_complete(store.stats(code, start, end, interval))

    def raw_stats(code: str, start: int, bucket: str) -> Callable[[], object]:
        return lambda: _raw_stats(store, code, start, end, bucket)

    window = "ts >= toDateTime({start:UInt32}, 'UTC') AND ts < toDateTime({end:UInt32}, 'UTC')"
    filtered = (
        "SELECT browser, count() AS c FROM clicks WHERE {key} AND " + window
        + " AND is_human AND country = 'US' AND device = 'mobile'"
        " GROUP BY browser ORDER BY c DESC LIMIT 10"
    )  # fmt: skip
    realtime = (
        "SELECT toStartOfMinute(ts) AS m, countIf(is_human) FROM clicks WHERE {key}"
        " AND ts >= toDateTime({start:UInt32}, 'UTC') GROUP BY m ORDER BY m"
    )
    top_raw = (
        "SELECT code, countIf(is_human) AS c FROM clicks WHERE has({codes:Array(String)}, code)"
        f" AND {window} GROUP BY code ORDER BY c DESC, code LIMIT 10"
    )
    hot = {"code": HOT_LINK, "start": month, "end": end}
    recent = {"codes": codes, "start": end - 1800}
    return [
        Question(
            "link_30d_by_hour",
            f"ClickStore.stats({TYPICAL_LINK}, 30 days, hour): hourly_stats, daily_*",
            "raw clicks by the (code, ts) key: totals, uniques, hourly series, 6 breakdowns",
            stats(TYPICAL_LINK, month, "hour"),
            raw_stats(TYPICAL_LINK, month, "toStartOfHour"),
        ),
        Question(
            "hot_link_1y_by_day",
            f"ClickStore.stats({HOT_LINK}, 365 days, day): daily_stats, daily_breakdowns",
            "raw clicks by the (code, ts) key: totals, uniques, daily series, 6 breakdowns",
            stats(HOT_LINK, year, "day"),
            raw_stats(HOT_LINK, year, "toStartOfDay"),
        ),
        Question(
            "workspace_top10_30d",
            "ClickStore.top_links(1,000 codes of w0, 30 days): daily_stats + edge hours",
            "raw clicks, codes matched without the key (has()): the whole range scanned",
            lambda: store.top_links_sync(codes, month, end, 10),
            lambda: query(top_raw, parameters={"codes": codes, "start": month, "end": end}),
        ),
        Question(
            "filtered_breakdown_30d",
            f"raw clicks by the (code, ts) key ({HOT_LINK}, 30 days, country = US AND device"
            " = mobile, by browser): no aggregate holds two dimensions at once",
            "the same without the key (code matched by has()): a scan of the range",
            lambda: query(filtered.replace("{key}", "code = {code:String}"), parameters=hot),
            lambda: query(filtered.replace("{key}", "has([{code:String}], code)"), parameters=hot),
        ),
        Question(
            "realtime_workspace_30min",
            "raw clicks by the (code, ts) key: w0's 1,000 codes, last 30 minutes per minute",
            "the same without the key (has()): the newest partition scanned",
            lambda: query(
                realtime.replace("{key}", "code IN {codes:Array(String)}"), parameters=recent
            ),
            lambda: query(
                realtime.replace("{key}", "has({codes:Array(String)}, code)"), parameters=recent
            ),
        ),
    ]


def _raw_stats(store: ClickStore, code: str, start: int, end: int, bucket: str) -> None:
    """What ClickStore.stats answers, from the raw clicks (its three queries, in turn)."""
    parameters = {"code": code, "start": start, "end": end}
    window = (
        "code = {code:String} AND ts >= toDateTime({start:UInt32}, 'UTC')"
        " AND ts < toDateTime({end:UInt32}, 'UTC')"
    )
    query = store.client.query
    query(
        f"SELECT {bucket}(ts) AS t, countIf(is_human), countIf(is_bot) FROM clicks"
        f" WHERE {window} GROUP BY t",
        parameters=parameters,
    )
    query(f"SELECT uniqIf(visitor_id, is_human) FROM clicks WHERE {window}", parameters=parameters)
    query(
        "SELECT pair.1 AS dimension, pair.2 AS value, count() AS total FROM clicks"
        " ARRAY JOIN [('country', toString(country)), ('city', city),"
        " ('device', toString(device)), ('os', toString(os)), ('browser', toString(browser)),"
        " ('referrer', referrer_host)] AS pair"
        f" WHERE {window} AND is_human AND pair.2 != ''"
        " GROUP BY dimension, value ORDER BY dimension, total DESC LIMIT 10 BY dimension",
        parameters=parameters,
    )
