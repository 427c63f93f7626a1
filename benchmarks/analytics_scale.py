"""analytics_stats_100m: the stats questions over a year of clicks on 100k links.

The clicks are generated inside chDB (tests/harness/synthetic_scale.py), not replayed
through ingest. Each question is answered the way the API answers it (the subject)
and by a scan of the raw ``clicks`` table (the reference), in alternated rounds
(reference, subject, reference, subject, ...) in this process. chDB stands for the
ClickHouse server (there is none on this machine), so it runs on every CPU.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chdb  # type: ignore[import-untyped]

from benchmarks.config import RunSettings
from benchmarks.host import cpu_affinity, every_cpu, log
from benchmarks.scale_figures import (
    GENERATED,
    MAX_P50_MS,
    MAX_P99_MS,
    bytes_per_million,
    check_generation_complete,
    question_figures,
)
from shortlink.adapters import clickhouse_rollups as rollups
from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.clickhouse_batches import COLUMNS
from shortlink.domain.stats_buckets import realtime_range
from shortlink.domain.stats_filters import Filter
from tests.harness.synthetic_scale import (
    Mix,
    generate_clicks,
    synthetic_owners,
    workspace_codes,
)

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
    load_before = os.getloadavg()
    directory = Path(settings.scale_dir) if settings.scale_dir else work_dir / "chdb"
    with cpu_affinity(every_cpu()):
        store = ClickStore.connect(f"chdb://{directory}?database=shortlink")
        try:
            store.apply_migrations_sync()
            stored, newest = store.client.query(
                "SELECT count(), toUnixTimestamp(max(ts)) FROM clicks"
            ).result_rows[0]
            generate_s: float | None = None
            if stored:  # a kept directory: its clicks, its year
                check_generation_complete(directory, int(stored))
                clicks, end = int(stored), (int(newest) // 60 + 1) * 60
                log(f"  reusing {clicks:,} clicks in {directory}")
            else:
                end = int(time.time()) // 60 * 60
                log(f"  generating {clicks:,} clicks over {LINKS:,} links and 365 days")
                began = time.perf_counter()
                generate_clicks(store.client, Mix(clicks, LINKS, end))
                generate_s = time.perf_counter() - began
                (directory / GENERATED).write_text(f"{clicks}\n")
                log(f"  generated in {generate_s:.0f} s")
            _as_if_running(store, end)
            began = time.perf_counter()
            rolled = rollups.pending(store.client, end)
            rollups.roll_up_work(store.client, rolled, synthetic_owners(LINKS))
            rollup_s = time.perf_counter() - began
            log(
                f"  {len(rolled.days)} days rolled up per workspace, {len(rolled.months)}"
                f" months per link, in {rollup_s:.0f} s"
            )
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
        "generate_s": None if generate_s is None else round(generate_s, 1),
        "reused": generate_s is None,
        "rollups": {
            "workspace_days": len(rolled.days),
            "link_months": len(rolled.months),
            "seconds": round(rollup_s, 1),
        },
        "questions": figures,
        "disk_bytes": disk,
        "disk_bytes_per_million_clicks": bytes_per_million(disk, clicks),
        "rounds": settings.rounds,
        "statistic": f"{SUBJECT_SAMPLES} subject and {REFERENCE_SAMPLES} reference samples per"
        " round, alternated (reference, subject, ...); p50/p99 over all subject samples,"
        " reference and ratio from the medians of rounds",
        "reference": "the same question scanned from the raw clicks table",
        "engine": f"chDB {chdb.__version__} in the benchmark process on every CPU"
        " (no ClickHouse server here)",
        "host_busy_percent_before": busy,
        "host_load_average": {"before": load_before, "after": os.getloadavg()},
        "quick": settings.quick,
        "target": f"p50 < {MAX_P50_MS:g} ms and p99 < {MAX_P99_MS:g} ms for each question",
        "meets_target": all(one["meets_target"] for one in figures.values()),
    }


def _as_if_running(store: ClickStore, end: int) -> None:
    """What a service running for hours has: ``recent_clicks`` holding the last two
    hours before ``end`` (generated clicks skip the view's ``now()``-relative window,
    a reused directory's are older) and its migration older than a realtime window,
    so realtime reads it (ClickStore.realtime)."""
    store.client.command("TRUNCATE TABLE recent_clicks")
    columns = ", ".join(COLUMNS)
    store.client.command(
        f"INSERT INTO recent_clicks ({columns}) SELECT {columns} FROM clicks"
        f" WHERE ts >= toDateTime({end - 7200}, 'UTC')"
    )
    store.client.command(
        "INSERT INTO schema_migrations (version, name, applied_at)"
        f" VALUES (4, 'recent_clicks', toDateTime({end - 7200}, 'UTC'))"
    )


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
    """Subjects call what the API calls (ClickStore.stats_of / realtime). The
    references: for a question the aggregates answer, the same call with
    ``raw_rows=True`` (the same answer from the raw path: the links' rows by the
    (code, ts) key; no zone forces that path any more: unfiltered, every zone reads the
    aggregates); for one only the raw rows answer, the same question with the code
    matched by has(), which the key cannot serve (a scan)."""
    month = end - 30 * DAY
    year = end - 365 * DAY
    codes = workspace_codes(HOT_WORKSPACE, LINKS)
    us_mobile = (Filter("country", "is", "US"), Filter("device", "is", "mobile"))

    def stats(links: list[str], start: int, interval: str, **options: Any) -> Callable[[], object]:
        return lambda: loop.run_until_complete(
            store.stats_of(links, start, end, interval, **options)
        )

    def scan(sql: str, **parameters: Any) -> Callable[[], object]:
        return lambda: store.client.query(sql, parameters=parameters)

    raw = "the same call with raw_rows=True: raw clicks by the (code, ts) key"
    return [
        Question(
            "link_30d_by_hour",
            f"stats_of([{TYPICAL_LINK}], 30 days, hour): hourly_stats, daily_breakdowns",
            raw,
            stats([TYPICAL_LINK], month, "hour"),
            stats([TYPICAL_LINK], month, "hour", raw_rows=True),
        ),
        Question(
            "hot_link_1y_by_day",
            f"stats_of([{HOT_LINK}], 365 days, day): the day series from daily_stats; visitors"
            " and breakdowns from monthly_stats/monthly_breakdowns for the whole rolled months,"
            " daily_* and hourly_* for the ragged ends",
            raw,
            stats([HOT_LINK], year, "day"),
            stats([HOT_LINK], year, "day", raw_rows=True),
        ),
        Question(
            "workspace_top10_30d",
            "stats_of(w0's 1,000 codes, 30 days, day, limit 10, workspace w0) as GET"
            " /v1/stats: its 'links' ranking and every breakdown; rolled-up days from"
            " workspace_daily_*, the open days and edge hours from the links' rows",
            raw,
            stats(codes, month, "day", rank_links=True, workspace=f"w{HOT_WORKSPACE}"),
            stats(codes, month, "day", raw_rows=True, rank_links=True),
        ),
        Question(
            "workspace_top10_30d_link_rows",
            "the same without the workspace rollups (before migration 0005): every day"
            " from daily_stats/daily_breakdowns by the 1,000 codes",
            raw,
            stats(codes, month, "day", rank_links=True),
            stats(codes, month, "day", raw_rows=True, rank_links=True),
        ),
        Question(
            "filtered_breakdown_30d",
            f"stats_of([{HOT_LINK}], 30 days, country is US, device is mobile): no aggregate"
            " holds two dimensions, so the raw clicks by the (code, ts) key (every breakdown,"
            " browsers among them)",
            "browsers of the same clicks with the code matched by has(): a scan of the range",
            stats([HOT_LINK], month, "day", filters=us_mobile),
            scan(
                "SELECT browser, count() AS c FROM clicks WHERE has([{code:String}], code)"
                " AND ts >= toDateTime({start:UInt32}, 'UTC')"
                " AND ts < toDateTime({end:UInt32}, 'UTC') AND is_human"
                " AND country = 'US' AND device = 'mobile'"
                " GROUP BY browser ORDER BY c DESC LIMIT 10",
                code=HOT_LINK,
                start=month,
                end=end,
            ),
        ),
        Question(
            "realtime_workspace_30min",
            "realtime(w0's 1,000 codes): recent_clicks (the last 2 hours) by its (code, ts)"
            " key, per minute",
            "the same answer from clicks by its (code, ts) key (realtime before migration"
            " 0004): the month's partition read for 1,000 codes",
            lambda: loop.run_until_complete(store.realtime(codes, end, rank_links=True)),
            lambda: loop.run_until_complete(
                store._raw_stats(
                    codes, *realtime_range(end), "minute", "UTC", (), 10, "", True, "clicks"
                )
            ),
        ),
    ]
