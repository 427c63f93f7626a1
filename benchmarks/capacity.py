"""The capacity model of docs/capacity.md, from benchmark lines.

    python -m benchmarks.capacity measure            # prints the click_bytes line
    python -m benchmarks.capacity table LINES...     # rewrites docs/capacity.md's table

``measure`` stores synthetic clicks (the product's encoder, enricher and ClickHouse
schema, in chDB) and reports the bytes one click costs on the Kafka wire and at rest
in ClickHouse. ``table`` reads JSON lines (files of ``python -m benchmarks`` output
and of ``measure``; the last line per scenario wins) and rewrites the table between
the markers in docs/capacity.md, each figure naming the line it comes from.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[1] / "docs" / "capacity.md"
BEGIN, END = "<!-- capacity table: begin -->", "<!-- capacity table: end -->"

# The goal the model sizes for.
REDIRECTS_PER_S = 100_000
CLICKS_PER_MONTH = 10_000_000_000
SECONDS_PER_MONTH = 30 * 86_400
UTILISATION = 0.6  # cores planned at 60 % busy: room for a zone's loss and bursts
RETENTION_MONTHS = 13
KAFKA_RETENTION_DAYS = 7
KAFKA_REPLICATION = 3
CLICKHOUSE_REPLICAS = 2


def latest(lines: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The last line of each scenario."""
    return {line["scenario"]: line for line in lines if "scenario" in line}


def cpu_count(cpus: str) -> int:
    """Cores in a cpu list as the benchmarks print it: "0", "0-1", "0,2"."""
    count = 0
    for part in cpus.split(","):
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


def _per_core(line: Mapping[str, Any], field: str = "rps") -> float:
    return float(line[field]) / cpu_count(str(line["server_cpus"]))


def rows(by_scenario: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(quantity, value, source line) for the table."""
    out: list[tuple[str, str, str]] = []
    clicks_per_s = CLICKS_PER_MONTH / SECONDS_PER_MONTH

    def cite(scenario: str, field: str) -> str:
        return f"`{scenario}`.{field}"

    if (hit := by_scenario.get("redirect_hit")) is not None:
        per_core = _per_core(hit)
        cores = math.ceil(REDIRECTS_PER_S / per_core / UTILISATION)
        out.append(
            (
                "redirects/s per redirector core, in-process cache",
                f"{per_core:,.0f}",
                cite("redirect_hit", "rps"),
            )
        )
        out.append(
            (
                f"redirector cores for {REDIRECTS_PER_S:,}/s at {UTILISATION:.0%}",
                f"{cores:,} (≈{math.ceil(cores / 2):,} pods of 2 cores)",
                cite("redirect_hit", "rps"),
            )
        )
        if "redirector_rss_mb" in hit:
            out.append(
                (
                    "redirector memory per pod",
                    f"{hit['redirector_rss_mb']:,.0f} MB RSS",
                    cite("redirect_hit", "redirector_rss_mb"),
                )
            )
    if (miss := by_scenario.get("redirect_miss")) is not None:
        out.append(
            (
                "redirects/s per core, every one a miss (Redis → PostgreSQL)",
                f"{_per_core(miss):,.0f}",
                cite("redirect_miss", "rps"),
            )
        )
    if (create := by_scenario.get("create")) is not None:
        out.append(
            (
                "creates/s per API core (one PostgreSQL commit each)",
                f"{_per_core(create):,.0f}",
                cite("create", "rps"),
            )
        )
    if (ingest := by_scenario.get("analytics_ingest")) is not None:
        per_worker = float(ingest["events_per_s"])
        average = math.ceil(clicks_per_s / per_worker / UTILISATION)
        peak = math.ceil(REDIRECTS_PER_S / per_worker / UTILISATION)
        out.append(
            (
                "clicks/s per analytics worker (one core)",
                f"{per_worker:,.0f}",
                cite("analytics_ingest", "events_per_s"),
            )
        )
        out.append(
            (
                f"analytics workers: {clicks_per_s:,.0f}/s average, {REDIRECTS_PER_S:,}/s peak",
                f"{average} / {peak} (Kafka absorbs the peak as lag)",
                cite("analytics_ingest", "events_per_s"),
            )
        )
    if (size := by_scenario.get("click_bytes")) is not None:
        wire = float(size["kafka_bytes_per_click"])
        stored = float(size["clickhouse_bytes_per_click"])
        kafka_tb = wire * clicks_per_s * 86_400 * KAFKA_RETENTION_DAYS * KAFKA_REPLICATION / 1e12
        ch_tb = stored * CLICKS_PER_MONTH * RETENTION_MONTHS * CLICKHOUSE_REPLICAS / 1e12
        out.append(
            (
                "Kafka bytes per click (zstd, batched records)",
                f"{wire:,.1f} B",
                cite("click_bytes", "kafka_bytes_per_click"),
            )
        )
        out.append(
            (
                f"Kafka disk: {KAFKA_RETENTION_DAYS} days x replication {KAFKA_REPLICATION}",
                f"{kafka_tb:,.2f} TB",
                cite("click_bytes", "kafka_bytes_per_click"),
            )
        )
        out.append(
            (
                "ClickHouse bytes per click at rest (raw + aggregates, compressed)",
                f"{stored:,.1f} B",
                cite("click_bytes", "clickhouse_bytes_per_click"),
            )
        )
        out.append(
            (
                f"ClickHouse disk: {RETENTION_MONTHS} months x {CLICKHOUSE_REPLICAS} replicas",
                f"{ch_tb:,.1f} TB",
                cite("click_bytes", "clickhouse_bytes_per_click"),
            )
        )
    if (stats := by_scenario.get("analytics_stats")) is not None and "day" in stats:
        day = stats["day"]
        p50 = day.get("p50_ms") if isinstance(day, Mapping) else day
        out.append(
            (
                "stats query on a 1M-click link (by day, p50)",
                f"{float(p50):,.1f} ms",
                cite("analytics_stats", "day"),
            )
        )
    return out


def render(table_rows: list[tuple[str, str, str]]) -> str:
    lines = ["| quantity | value | from benchmark line |", "|---|---|---|"]
    lines += [f"| {q} | {v} | {s} |" for q, v, s in table_rows]
    return "\n".join(lines)


def rewrite(doc: str, table: str) -> str:
    head, begin, rest = doc.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"{DOC}: the table markers are missing")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def read_lines(paths: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        for text in Path(path).read_text().splitlines():
            if text.startswith("{"):
                out.append(json.loads(text))
    return out


def measure(clicks: int = 200_000) -> dict[str, Any]:
    """Bytes per click on the Kafka wire and in ClickHouse (chDB), by the product's code."""
    import cramjam  # the codec aiokafka compresses with

    from shortlink.adapters.clickhouse import ClickStore
    from shortlink.adapters.event_codec import encode_clicks
    from shortlink.adapters.geoip import GeoIP
    from shortlink.adapters.user_agents import UserAgentParser
    from shortlink.services.enrichment import ClickEnricher
    from tests.harness.synthetic_clicks import click_events

    prefix = os.urandom(8).hex()  # event ids as the redirector makes them
    codes = [f"c{n:06d}" for n in range(10_000)]
    events = [
        dataclasses.replace(event, event_id=f"{prefix}{n:016x}")
        for n, event in enumerate(click_events(clicks, codes, start=time.time() - 86_400, rate=5))
    ]
    per_record = 500  # as the publisher batches them
    wire = sum(
        len(cramjam.zstd.compress(encode_clicks(events[i : i + per_record])))
        for i in range(0, len(events), per_record)
    )
    enricher = ClickEnricher(GeoIP(None), UserAgentParser(), salt=b"capacity-model-salt-0123")
    with tempfile.TemporaryDirectory() as directory:
        store = ClickStore.connect(f"chdb://{directory}?database=capacity")
        store.apply_migrations_sync()
        for i in range(0, len(events), 20_000):
            store.insert_sync([enricher.enrich(e) for e in events[i : i + 20_000]])
        store.client.command("OPTIMIZE TABLE clicks FINAL")
        stored = store.client.query(
            "SELECT sum(data_compressed_bytes) FROM system.parts"
            " WHERE database = 'capacity' AND active"
        ).result_rows[0][0]
        store.close()
    return {
        "scenario": "click_bytes",
        "clicks": clicks,
        "kafka_bytes_per_click": round(wire / clicks, 2),
        "clickhouse_bytes_per_click": round(int(stored) / clicks, 2),
        "method": "synthetic clicks (10,000 codes, realistic agents/addresses), zstd records "
        f"of {per_record}; chDB parts of every table after OPTIMIZE FINAL, no GeoIP database",
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["measure"]:
        print(json.dumps(measure()), flush=True)
    elif argv[:1] == ["table"] and argv[1:]:
        table = render(rows(latest(read_lines(argv[1:]))))
        DOC.write_text(rewrite(DOC.read_text(), table))
        print(table)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
