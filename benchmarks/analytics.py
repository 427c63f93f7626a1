"""Analytics scenarios: the redirector with the real Kafka producer on, the ingest
worker draining Kafka into ClickHouse (chDB), and stats over a 1M-click link."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks.alternation import alternate, median_of, median_round
from benchmarks.context import ScenarioContext
from benchmarks.fixtures import create_links_one_by_one, follow_each, write_codes
from benchmarks.host import cpu_affinity, every_cpu, log, pinned
from benchmarks.ingest_overlap import overlap_ab
from benchmarks.ingest_workers import (
    CLICKS_TOPIC,
    POLL_S,
    analytics_worker,
    replicas_ab,
    stored,
    worker_env,
)
from benchmarks.lines import is_clean, wrk_fields
from benchmarks.lua import write_cycle_paths_script
from benchmarks.metrics import counter_by_label
from benchmarks.references import WARMUP_S
from benchmarks.sequential import percentile
from benchmarks.server_cpu import cpu_seconds
from benchmarks.stack import resident_mb, shortlink_command
from benchmarks.wrk import WrkResult
from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.event_codec import decode_clicks, encode_clicks
from tests.harness import ServiceProcess, free_port
from tests.harness.kafka import KafkaServer
from tests.harness.stack import component_process
from tests.harness.synthetic_clicks import click_events, insert_million_style

KAFKA_MIN_RATIO = 0.95
INGEST_MIN_EVENTS_PER_S = 50_000
LAG_MAX_P99_S = 5.0
STATS_MAX_P50_MS = 50.0
EVENTS_PER_RECORD = 500
LAG_METRIC = "shortlink_analytics_batch_lag_seconds_bucket"


@contextlib.contextmanager
def kafka_broker(context: ScenarioContext, name: str) -> Iterator[KafkaServer]:
    """A fresh broker (its own data dir) on the load generator's CPU: in production
    it is another machine, so it must not take the server CPU being measured."""
    with cpu_affinity(context.settings.cpus.client_cpus):
        broker = KafkaServer(context.scratch_dir(f"kafka-{name}"), fast_startup=False)
        broker.start()
    try:
        broker.create_topic(CLICKS_TOPIC, 4)
        yield broker
    finally:
        broker.stop()


# -- redirect_hit_with_kafka --------------------------------------------------------


def redirect_hit_with_kafka(context: ScenarioContext) -> dict[str, Any]:
    """The same hit load against the plain redirector and one publishing every
    click to Kafka, alternated, on the same CPU: the ratio is the producer's cost."""
    settings = context.settings
    links = create_links_one_by_one(context, settings.hit_links)
    codes_file = write_codes(context.work_dir / "kafka_codes.txt", [c for c, _ in links])
    script = write_cycle_paths_script(context.scratch_dir("hit_kafka"), codes_file)
    with kafka_broker(context, "redirect") as broker:
        publishing = component_process(
            "redirector",
            {
                **context.stack.redirector.env,
                "SHORTLINK_EVENTS": "kafka",
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "SHORTLINK_CLICKS_TOPIC": CLICKS_TOPIC,
            },
            context.work_dir / "logs",
            command=pinned(shortlink_command("redirector"), settings.cpus.server_cpus),
            name="shortlink-redirector-kafka",
        )
        with publishing:
            plain_url = context.stack.redirector_url
            problems = follow_each(plain_url, links) + follow_each(publishing.base_url, links)

            def load(url: str) -> Callable[[], WrkResult]:
                def run() -> WrkResult:
                    context.wrk(f"{url}/", script, connections=settings.connections,
                                duration_s=WARMUP_S)  # fmt: skip
                    return context.wrk(
                        f"{url}/",
                        script,
                        connections=settings.connections,
                        duration_s=settings.duration_s,
                    )

                return run

            # Alternated, so drift on the host hits both alike.
            runs = alternate(max(2, settings.rounds), load(plain_url), load(publishing.base_url))
            events = _settled_event_counts(publishing.ops_url)
            rss = resident_mb(publishing)
    ratio = runs.ratio
    delivered_all = events["delivered"] == events["emitted"] and events["dropped"] == 0
    return {
        "scenario": "redirect_hit_with_kafka",
        "rps": round(runs.subject_rps, 1),
        "reference": "redirect_hit (same run, same links, alternated)",
        "reference_rps": round(runs.reference_rps, 1),
        "ratio": round(ratio, 3),
        **wrk_fields(median_round(runs.subject), settings.connections),
        "rounds": runs.rounds(),
        "statistic": f"median of {len(runs.subject)} alternated rounds (plain, kafka, ...)",
        "events": events,
        "redirector_rss_mb": rss,
        "warmup_problems": problems[:5],
        "quick": settings.quick,
        "target": f"rps >= {KAFKA_MIN_RATIO}x redirect_hit, every click delivered to Kafka",
        "meets_target": ratio >= KAFKA_MIN_RATIO
        and delivered_all
        and is_clean(*runs.subject, *runs.reference)
        and not problems,
    }


def _settled_event_counts(base_url: str, within: float = 30.0) -> dict[str, int]:
    """The publisher's tallies once its buffer has drained (or ``within`` passed)."""
    deadline = time.monotonic() + within
    while True:
        text = _metrics(base_url)
        counts = {k: int(v) for k, v in counter_by_label(text, "shortlink_events_total",
                                                         "result").items()}  # fmt: skip
        if counts.get("delivered", 0) + counts.get("dropped", 0) >= counts.get("emitted", 0):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {key: counts.get(key, 0) for key in ("emitted", "delivered", "dropped")}


def _metrics(base_url: str) -> str:
    return httpx.get(f"{base_url}/metrics", timeout=5).text


# -- analytics_ingest -----------------------------------------------------------------


def analytics_ingest(context: ScenarioContext) -> dict[str, Any]:
    """A backlog of N click events in Kafka, drained by one `shortlink analytics`
    worker (enrichment + chDB) on the server CPU, alternated with the reference
    (consume + decode only, on the same CPU), each round a fresh consumer group and
    a fresh chDB directory; then a steady stream, for lag; then the overlap A/B
    (benchmarks/ingest_overlap.py) and the replicas A/B (benchmarks/ingest_workers.py)."""
    settings = context.settings
    count = 100_000 if settings.quick else 1_000_000
    rounds = max(2, settings.rounds)
    codes = [f"bench{n:04d}" for n in range(1000)]
    load_before = os.getloadavg()
    with kafka_broker(context, "ingest") as broker:
        log(f"  producing {count} click events")
        start = time.time() - 3600
        events = list(click_events(count, codes, start=start, prefix=context.run_id))
        records = [
            encode_clicks(events[i : i + EVENTS_PER_RECORD])
            for i in range(0, count, EVENTS_PER_RECORD)
        ]
        del events
        asyncio.run(_produce(broker.bootstrap_servers, records))
        reference: list[tuple[float, float]] = []
        drains: list[tuple[float, float]] = []
        for n in range(rounds):  # A B A B: drift on the host hits both alike
            with cpu_affinity(settings.cpus.server_cpus):
                reference.append(asyncio.run(_drain_and_decode(broker.bootstrap_servers, count)))
            log(f"  round {n}: consume + decode only, {reference[-1][0]:,.0f} events/s")
            worker_cpus = settings.cpus.server_cpus
            with analytics_worker(context, broker, f"{n}", f"{n}", worker_cpus) as worker:
                drains.append(_drain(worker, count))
                log(f"  round {n}: worker, {drains[-1][0]:,.0f} events/s")
                if n == rounds - 1:
                    lag = _steady_stream_lag(context, broker, worker, codes, stored_before=count)
                    peak_rss = _peak_rss_mb(worker)
        overlap = overlap_ab(
            worker_env(context, broker, free_port()),
            context.scratch_dir("chdb-overlap"),
            50_000 if settings.quick else 200_000,  # a --quick run stays short
            rounds,
            context.run_id,
        )
        replicas = replicas_ab(context, broker, count, rounds)
    eps = median_of([rate for rate, _ in drains])
    reference_eps = median_of([rate for rate, _ in reference])
    cpu_us = median_of([cpu for _, cpu in drains])
    return {
        "scenario": "analytics_ingest",
        "events": count,
        "events_per_s": round(eps, 1),
        "reference": "aiokafka consume + decode only (no enrichment, no storage), same CPU",
        "reference_events_per_s": round(reference_eps, 1),
        "ratio": round(eps / reference_eps, 3),
        "worker_cpu_us_per_event": round(cpu_us, 1),
        "reference_cpu_us_per_event": round(median_of([cpu for _, cpu in reference]), 1),
        "events_per_worker_cpu_s": round(1e6 / cpu_us, 1),
        "rounds": {
            "events_per_s": [round(rate, 1) for rate, _ in drains],
            "reference_events_per_s": [round(rate, 1) for rate, _ in reference],
            "worker_cpu_us_per_event": [round(cpu, 1) for _, cpu in drains],
        },
        "statistic": f"median of {rounds} alternated rounds (reference, worker, ...)",
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "lag": lag,
        "worker_peak_rss_mb": peak_rss,
        **overlap,
        **replicas,
        "engine": "chDB inside the worker: the insert and its materialized views run on "
        "the worker's CPU (worker_cpu_us_per_event counts them); with a ClickHouse "
        "server they run server-side",
        "quick": settings.quick,
        "target": f">= {INGEST_MIN_EVENTS_PER_S:,} events/s with one worker, "
        f"end-to-end lag p99 < {LAG_MAX_P99_S:g} s",
        "meets_target": eps >= INGEST_MIN_EVENTS_PER_S
        and lag["p99_s_upper_bound"] is not None
        and lag["p99_s_upper_bound"] < LAG_MAX_P99_S
        and lag["stored"] == lag["sent"],
    }


async def _produce(bootstrap: str, records: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, compression_type="zstd", linger_ms=20,
        max_batch_size=1 << 20, max_request_size=8 << 20,
    )  # fmt: skip
    await producer.start()
    try:
        acks = [await producer.send(CLICKS_TOPIC, record) for record in records]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def _drain_and_decode(bootstrap: str, count: int) -> tuple[float, float]:
    """(events/s, process CPU µs per event) to consume and decode ``count`` events."""
    consumer = AIOKafkaConsumer(
        CLICKS_TOPIC, bootstrap_servers=bootstrap, group_id=f"reference-{time.time_ns()}",
        auto_offset_reset="earliest", enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20,
    )  # fmt: skip
    await consumer.start()
    try:
        decoded = 0
        started, cpu = time.perf_counter(), time.process_time()
        while decoded < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for messages in batches.values():
                for message in messages:
                    decoded += len(decode_clicks(message.value)[0])
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        return decoded / wall, cpu / decoded * 1e6
    finally:
        await consumer.stop()


def _drain(worker: ServiceProcess, count: int) -> tuple[float, float]:
    """(events/s, the worker's CPU µs per event) from its readiness (it starts
    consuming then) to ``count`` stored; its CPU counts chDB's threads too."""
    assert worker.process is not None
    cpu = cpu_seconds(worker.process.pid)
    seconds = _wait_until_stored(worker, count)["seconds"]
    return count / seconds, (cpu_seconds(worker.process.pid) - cpu) / count * 1e6


def _wait_until_stored(worker: ServiceProcess, count: int, within: float = 600) -> dict[str, float]:
    """Seconds from the worker's readiness (it starts consuming then) to ``count`` stored."""
    started = time.perf_counter()
    while stored(worker) < count:
        if time.perf_counter() - started > within:
            raise RuntimeError(f"the worker stored {stored(worker)} of {count} in {within}s")
        time.sleep(POLL_S)
    return {"seconds": time.perf_counter() - started}


def _steady_stream_lag(
    context: ScenarioContext,
    broker: KafkaServer,
    worker: ServiceProcess,
    codes: list[str],
    stored_before: int,
) -> dict[str, Any]:
    """Clicks stamped when sent, at a steady rate; the worker's per-batch lag
    histogram (oldest click of each batch) gives an upper bound of their p99."""
    rate = 5_000 if context.settings.quick else 20_000
    seconds = 3.0 if context.settings.quick else 10.0
    before = counter_by_label(_metrics(worker.base_url), LAG_METRIC, "le")
    sent = asyncio.run(_stream(broker.bootstrap_servers, codes, rate, seconds, context.run_id))
    _wait_until_stored(worker, stored_before + sent, within=120)
    after = counter_by_label(_metrics(worker.base_url), LAG_METRIC, "le")
    buckets = sorted(
        ((float(le), after[le] - before.get(le, 0.0)) for le in after if le != "+Inf"),
    )
    batches = after.get("+Inf", 0.0) - before.get("+Inf", 0.0)
    p99 = next((le for le, n in buckets if n >= 0.99 * batches), None) if batches else None
    return {
        "rate_events_per_s": rate,
        "seconds": seconds,
        "sent": sent,
        "stored": int(stored(worker)) - stored_before,
        "batches": int(batches),
        "p99_s_upper_bound": p99,
        "method": "histogram bucket holding the 99th percentile of per-batch oldest-click lag",
    }


async def _stream(bootstrap: str, codes: list[str], rate: int, seconds: float, run: str) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, compression_type="zstd",
                                linger_ms=5)  # fmt: skip
    await producer.start()
    tick = 0.05
    per_tick = int(rate * tick)
    sent = 0
    try:
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            batch = list(click_events(per_tick, codes, start=time.time(), rate=1e9,
                                      prefix=f"{run}-lag{sent}", seed=sent))  # fmt: skip
            await producer.send(CLICKS_TOPIC, encode_clicks(batch))
            sent += len(batch)
            await asyncio.sleep(max(0.0, (sent / rate) - elapsed))
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def _peak_rss_mb(service: ServiceProcess) -> float | None:
    if service.process is None:
        return None
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


# -- analytics_stats ------------------------------------------------------------------


def analytics_stats(context: ScenarioContext) -> dict[str, Any]:
    """GET-stats latency for one link with 1M stored clicks (30 days), from the
    aggregates, against the same figures computed from the raw clicks."""
    settings = context.settings
    count = 200_000 if settings.quick else 1_000_000
    samples = 10 if settings.quick else 30
    with cpu_affinity(every_cpu()):  # chDB stands for a ClickHouse server here
        return _stats_line(context, count, samples)


def _stats_line(context: ScenarioContext, count: int, samples: int) -> dict[str, Any]:
    store = ClickStore.connect(f"chdb://{context.scratch_dir('chdb-stats')}")
    try:
        asyncio.run(store.apply_migrations())
        start = int(time.time()) // 86_400 * 86_400 - 30 * 86_400
        loaded = time.perf_counter()
        insert_million_style(store.client, "viral01", count, start, days=30)
        load_s = time.perf_counter() - loaded
        end = start + 30 * 86_400
        timings = asyncio.run(_time_stats(store, start, end, samples))
        raw = [_time_raw_scan(store, start, end) for _ in range(max(3, samples // 5))]
    finally:
        store.close()
    p50 = {name: percentile(ms, 50) for name, ms in timings.items()}
    raw_p50 = percentile(raw, 50)
    return {
        "scenario": "analytics_stats",
        "clicks": count,
        "load_s": round(load_s, 2),
        "p50_ms": {name: round(v, 2) for name, v in p50.items()},
        "p99_ms": {name: round(percentile(ms, 99), 2) for name, ms in timings.items()},
        "samples": samples,
        "reference": "the same totals, series and top countries scanned from the raw clicks",
        "reference_p50_ms": round(raw_p50, 2),
        "ratio": round(raw_p50 / max(p50.values()), 2),
        "engine": "chDB in the benchmark process, on every CPU (it stands for a server)",
        "quick": context.settings.quick,
        "target": f"p50 < {STATS_MAX_P50_MS:g} ms for a link with 1M clicks",
        "meets_target": max(p50.values()) < STATS_MAX_P50_MS,
    }


async def _time_stats(
    store: ClickStore, start: int, end: int, samples: int
) -> dict[str, list[float]]:
    ranges = {
        "day": (start, end, "day"),
        "hour": (start, end, "hour"),
        "day_ragged": (start + 5 * 3600, end - 7 * 3600, "day"),
    }
    timings: dict[str, list[float]] = {name: [] for name in ranges}
    for name, (first, last, interval) in ranges.items():
        await store.stats("viral01", first, last, interval)  # warm-up
        for _ in range(samples):
            began = time.perf_counter()
            await store.stats("viral01", first, last, interval)
            timings[name].append((time.perf_counter() - began) * 1000)
    return timings


def _time_raw_scan(store: ClickStore, start: int, end: int) -> float:
    began = time.perf_counter()
    parameters = {"start": start, "end": end}
    window = (
        "code = 'viral01' AND ts >= toDateTime({start:UInt32}, 'UTC')"
        " AND ts < toDateTime({end:UInt32}, 'UTC')"
    )
    store.client.query(
        f"SELECT countIf(is_human), countIf(is_bot), uniqIf(visitor_id, is_human)"
        f" FROM clicks WHERE {window}",
        parameters=parameters,
    )
    store.client.query(
        f"SELECT toStartOfDay(ts) AS d, countIf(is_human) FROM clicks WHERE {window} GROUP BY d",
        parameters=parameters,
    )
    store.client.query(
        f"SELECT country, countIf(is_human) AS c FROM clicks WHERE {window}"
        " GROUP BY country ORDER BY c DESC LIMIT 10",
        parameters=parameters,
    )
    return (time.perf_counter() - began) * 1000
