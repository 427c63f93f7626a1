"""PostgreSQL, Redis and Kafka on the host for charts installed on the node (pods reach
them at the bridge's host address; nothing off the machine can), and what Kafka holds
on the clicks topic. Shared by the cluster tests that install the chart with external
dependencies (tests/e2e/cluster/test_chart_on_cluster.py, test_chart_upgrade.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Iterator
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from shortlink.adapters.event_codec import decode_clicks
from tests.harness.cluster import network
from tests.harness.kafka import KafkaServer
from tests.harness.ports import free_port
from tests.harness.postgres import PostgresServer
from tests.harness.redis import RedisServer

CLICKS_TOPIC = "shortlink.clicks"
# The harness broker's num.partitions: the topic is auto-created with it.
CLICKS_PARTITIONS = 4


@contextlib.contextmanager
def host_services(base: Path, database: str) -> Iterator[dict[str, str]]:
    """The three servers under `base`, listening on loopback and on the bridge's host
    address; their URLs as pods see them, and as host clients do (`*_from_host`)."""
    hba = base / "pg_hba.conf"
    hba.write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        f"host all all {network.POD_CIDR} trust\n"
    )
    hba.chmod(0o644)
    base.chmod(0o755)
    postgres = PostgresServer(
        base / "postgres",
        settings={"listen_addresses": f"127.0.0.1,{network.BRIDGE_IP}", "hba_file": str(hba)},
    )
    redis = RedisServer(base / "redis", bind=("127.0.0.1", network.BRIDGE_IP))
    kafka_pods_port = free_port()
    kafka = KafkaServer(base / "kafka")
    kafka.extra_properties.update(_kafka_pod_listener(kafka, kafka_pods_port))
    with postgres, redis, kafka:
        postgres.execute(f"CREATE DATABASE {database}")
        yield {
            "database": f"postgresql://shortlink@{network.BRIDGE_IP}:{postgres.port}/{database}",
            "database_from_host": f"postgresql://shortlink@127.0.0.1:{postgres.port}/{database}",
            "redis": f"redis://{network.BRIDGE_IP}:{redis.port}/0",
            "kafka": f"{network.BRIDGE_IP}:{kafka_pods_port}",
            "kafka_from_host": kafka.bootstrap_servers,
        }


def _kafka_pod_listener(kafka: KafkaServer, port: int) -> dict[str, str]:
    """A second PLAINTEXT listener, PODS, on the bridge address: pods bootstrap there
    and are told that address; host clients keep the loopback one."""
    own = kafka.server_properties()
    return {
        "listeners": f"{own['listeners']},PODS://{network.BRIDGE_IP}:{port}",
        "advertised.listeners": f"{own['advertised.listeners']},PODS://{network.BRIDGE_IP}:{port}",
        "listener.security.protocol.map": f"{own['listener.security.protocol.map']},PODS:PLAINTEXT",
    }


def clicks_in_kafka(bootstrap: str, codes: Collection[str]) -> tuple[int, int]:
    """(clicks on any of `codes` in the clicks topic, offsets committed by the analytics
    group). Clicks, not messages: the publisher packs the clicks of one linger into one
    record."""

    async def count() -> tuple[int, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id="shortlink-analytics",  # only to read its commits: assign() joins nothing
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            if CLICKS_TOPIC not in await consumer.topics():  # also loads the metadata
                return 0, 0
            partitions = [TopicPartition(CLICKS_TOPIC, n) for n in range(CLICKS_PARTITIONS)]
            ends = await consumer.end_offsets(partitions)
            committed = [await consumer.committed(tp) for tp in partitions]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            clicks = 0
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        events, _ = decode_clicks(record.value)
                        clicks += sum(1 for event in events if event.code in codes)
        finally:
            await consumer.stop()
        return clicks, sum(offset or 0 for offset in committed)

    return asyncio.run(count())


def chart_on_host_services(
    urls: dict[str, str], tag: str, secret: str, api_key: str, rate_limit: str
) -> dict[str, object]:
    """The chart's values for `host_services`' `urls`: image `tag` (imported, never
    pulled), the release's secret key and first API key; replicas are the caller's."""
    return {
        "image": {"tag": tag, "pullPolicy": "Never"},
        "config": {"baseUrl": "http://sho.rt.test", "rateLimit": rate_limit},
        "database": {"url": urls["database"]},
        "redis": {"url": urls["redis"]},
        "kafka": {"bootstrapServers": urls["kafka"]},
        "secretKey": {"value": secret},
        "initialApiKey": {"value": api_key},
    }
