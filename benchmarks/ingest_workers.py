"""analytics_ingest's `shortlink analytics` workers, and its replicas A/B: the same
Kafka backlog drained by one worker and by two in one consumer group (as the chart's
replicas would), alternated, all of them and the benchmark's Kafka on every CPU.

Each worker has its own chDB directory here (chDB is one engine per process), so two
workers also split the engine's work, which a shared ClickHouse server would do for
both; and a replay after the partitions are rebalanced between them is stored by each
(their replay guards can't see each other's store), so `stored` may exceed the
backlog by up to a batch. Timed from when every worker is ready, over the events
stored after that moment.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from benchmarks.alternation import median_of
from benchmarks.context import ScenarioContext
from benchmarks.host import every_cpu, pinned
from benchmarks.server_cpu import cpu_seconds
from benchmarks.stack import shortlink_command
from tests.harness import ServiceProcess, free_port
from tests.harness.kafka import KafkaServer
from tests.support.prometheus import scrape

CLICKS_TOPIC = "bench.clicks"
# How often a draining worker's /metrics is read. Each scrape costs the worker CPU it
# would spend on clicks (py-spy at 20 Hz: 3.6 % of its active Python samples in the
# /metrics handler, plus a part of 5.1 % in socket reads and writes it shares with Kafka);
# 4 Hz bounds the error of a drain's end to 0.25 s (0.25 % of a 1M-event drain here).
POLL_S = 0.25


def worker_env(context: ScenarioContext, broker: KafkaServer, port: int) -> dict[str, str]:
    return {
        "REDIS_URL": context.stack.redis.url,
        "SHORTLINK_SECRET_KEY": context.stack.redirector.env["SHORTLINK_SECRET_KEY"],
        "SHORTLINK_HOST": "127.0.0.1",
        "SHORTLINK_ANALYTICS_PORT": str(port),
        "SHORTLINK_EVENTS": "kafka",
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "SHORTLINK_CLICKS_TOPIC": CLICKS_TOPIC,
        "SHORTLINK_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def analytics_worker(
    context: ScenarioContext, broker: KafkaServer, group: str, store: str, cpus: str | None
) -> Iterator[ServiceProcess]:
    """A worker in consumer group ``group`` with the chDB directory ``store``."""
    port = free_port()
    worker = ServiceProcess(
        pinned(shortlink_command("analytics"), cpus),
        env={
            **worker_env(context, broker, port),
            "SHORTLINK_ANALYTICS_GROUP": f"bench-{context.run_id}-{group}",
            "CLICKHOUSE_URL": f"chdb://{context.scratch_dir(f'chdb-{store}')}",
        },
        port=port,
        log_dir=context.work_dir / "logs",
        name="shortlink-analytics",
        startup_timeout=120,
    )
    with worker:
        yield worker


def stored(worker: ServiceProcess) -> float:
    return scrape(worker.base_url, "shortlink_analytics_stored_total")


def replicas_ab(
    context: ScenarioContext, broker: KafkaServer, count: int, rounds: int
) -> dict[str, Any]:
    """The JSON fields of the replicas A/B (see the module doc)."""
    measured: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for n in range(rounds):
        for replicas in measured:  # one worker first: A B A B
            with contextlib.ExitStack() as workers:
                started = [
                    workers.enter_context(
                        analytics_worker(
                            context,
                            broker,
                            f"replicas-{n}-{replicas}",
                            f"replicas-{n}-{replicas}-{i}",
                            every_cpu(),
                        )
                    )
                    for i in range(replicas)
                ]
                measured[replicas].append(_drained_together(started, count))
    rates = {replicas: median_of([eps for eps, _ in runs]) for replicas, runs in measured.items()}
    return {
        "replicas_events_per_s": {f"{k}": round(v, 1) for k, v in rates.items()},
        "replicas_ratio": round(rates[2] / rates[1], 3),
        "replicas_cpu_us_per_event": {
            f"{k}": round(median_of([cpu for _, cpu in runs]), 1) for k, runs in measured.items()
        },
        "replicas_rounds": {
            f"{k}": [round(eps, 1) for eps, _ in runs] for k, runs in measured.items()
        },
        "replicas_method": "1 worker vs 2 in one consumer group (4 partitions), alternated, "
        "workers and Kafka on every CPU; each worker its own chDB (a server would be shared)",
    }


def _drained_together(workers: list[ServiceProcess], count: int) -> tuple[float, float]:
    """(events/s, CPU µs per event over all workers) from when all are ready until
    they have stored ``count`` between them."""
    pids = [w.process.pid for w in workers if w.process is not None]
    cpu = sum(cpu_seconds(pid) for pid in pids)
    began, before = time.perf_counter(), sum(stored(w) for w in workers)
    total = before
    while total < count:
        if time.perf_counter() - began > 600:
            raise RuntimeError(f"{len(workers)} workers stored {total} of {count} in 600 s")
        time.sleep(POLL_S)
        total = sum(stored(w) for w in workers)
    seconds = time.perf_counter() - began
    events = total - before
    return events / seconds, (sum(cpu_seconds(pid) for pid in pids) - cpu) / events * 1e6
