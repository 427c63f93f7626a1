"""analytics_ingest's overlap A/B: the ingest loop of the worker, run in this process
over the same Kafka backlog, batch after batch (``ClickIngest.step``: a batch is
stored before the next is gathered) against ``ClickIngest.run`` (the next batch is
gathered, decoded and enriched while one is stored), alternated, each round with a
fresh consumer group and a fresh chDB database.

It runs on every CPU: the overlap can only use a second core (chDB's engine works in
its own threads with the GIL released); on one core both do the same work in turn.
With a ClickHouse server the insert is a wait on the network instead, which the
overlap hides on any number of cores; chDB can't show that part.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.alternation import median_of
from benchmarks.host import cpu_affinity, every_cpu
from shortlink.adapters.clickhouse import ClickStore
from shortlink.adapters.kafka_source import KafkaSource
from shortlink.config import Settings
from shortlink.wiring import click_ingest, redis_client


def overlap_ab(
    env: dict[str, str], data_dir: Path, events: int, rounds: int, run_id: str
) -> dict[str, Any]:
    """``env``: the worker's environment (bus, topic, Redis, salt). Returns the
    JSON fields: events/s and process CPU µs per event of each way, per round."""
    settings = Settings.from_env(env)
    measured: dict[str, list[tuple[float, float]]] = {"sequential": [], "overlapped": []}
    with cpu_affinity(every_cpu()):
        for n in range(rounds):
            for way in measured:  # sequential first: A B A B
                store = ClickStore.connect(f"chdb://{data_dir}?database=overlap_{way}_{n}")
                try:
                    group = f"overlap-{run_id}-{way}-{n}"
                    measured[way].append(asyncio.run(_drain(settings, store, group, events, way)))
                finally:
                    store.close()
    rates = {way: median_of([eps for eps, _ in runs]) for way, runs in measured.items()}
    return {
        "overlap_events": events,
        "overlapped_events_per_s": round(rates["overlapped"], 1),
        "sequential_events_per_s": round(rates["sequential"], 1),
        "overlap_ratio": round(rates["overlapped"] / rates["sequential"], 3),
        "overlap_cpu_us_per_event": {
            way: round(median_of([cpu for _, cpu in runs]), 1) for way, runs in measured.items()
        },
        "overlap_rounds": {
            way: [round(eps, 1) for eps, _ in runs] for way, runs in measured.items()
        },
        "overlap_method": "ClickIngest.step in turn vs ClickIngest.run, in the benchmark "
        "process on every CPU, alternated; chDB in process (a server would run the "
        "insert and its views elsewhere)",
    }


async def _drain(
    settings: Settings, store: ClickStore, group: str, events: int, way: str
) -> tuple[float, float]:
    """(events/s, process CPU µs per event) to store ``events`` of the backlog."""
    await store.apply_migrations()
    source = KafkaSource(settings.kafka_bootstrap_servers, settings.clicks_topic, group)
    redis = redis_client(settings.redis_url)
    drained = asyncio.Event()

    def after_batch(lag_s: float) -> None:  # called once a batch is stored and counted
        if ingest.tally.stored >= events:
            drained.set()

    ingest = click_ingest(settings, source, store, redis, after_batch)
    await source.start()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        if way == "overlapped":
            stop = asyncio.Event()
            running = asyncio.create_task(ingest.run(stop))
            waiting = asyncio.create_task(drained.wait())
            await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            stop.set()
            await running
        else:
            while ingest.tally.stored < events:
                await ingest.step()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await source.stop()
        await redis.aclose()
    stored = ingest.tally.stored
    return stored / wall, cpu / stored * 1e6
