"""The Kafka harness: a real broker that aiokafka produces to and consumes from."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from tests.harness.kafka import CACHE_DIR, KAFKA_VERSION, KafkaServer, ensure_kafka_libs

CONSUME_TIMEOUT = 20.0


@asynccontextmanager
async def producer(bootstrap_servers: str, **options: Any) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **options)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def produce(
    bootstrap_servers: str, topic: str, messages: list[bytes], **options: Any
) -> None:
    async with producer(bootstrap_servers, **options) as client:
        sent = [await client.send(topic, value, key=value) for value in messages]
        await asyncio.gather(*sent)


async def consume(
    bootstrap_servers: str,
    topic: str,
    count: int,
    *,
    group_id: str | None = None,
    commit: bool = False,
) -> list[bytes]:
    """Read `count` messages (failing on fewer within the timeout, or on more),
    committing them afterwards if `commit`."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        deadline = time.monotonic() + CONSUME_TIMEOUT
        while len(values) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            values += [record.value for records in batches.values() for record in records]
        # Nothing beyond what is expected: a short extra poll must stay empty.
        extra = await consumer.getmany(timeout_ms=300)
        values += [record.value for records in extra.values() for record in records]
        if commit:
            await consumer.commit()
        return values
    finally:
        await consumer.stop()


def numbered(prefix: str, count: int) -> list[bytes]:
    return [f"{prefix}-{number}".encode() for number in range(count)]


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[KafkaServer]:
    """A broker of this test's own, for stopping and killing it."""
    with KafkaServer(tmp_path / "kafka", num_partitions=2) as server:
        yield server


def test_libs_are_fetched_once_into_the_cache() -> None:
    libs = ensure_kafka_libs()  # fetches only if no earlier call did
    started = time.monotonic()
    assert ensure_kafka_libs() == libs == CACHE_DIR / KAFKA_VERSION / "libs"
    assert time.monotonic() - started < 0.5  # the stamp matched: no mvn run
    assert (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()
    assert (libs / f"kafka-clients-{KAFKA_VERSION}.jar").is_file()
    assert list(libs.glob("log4j-slf4j-impl-*.jar")), "no slf4j binding: the broker logs nothing"
    assert (libs.parent / "libs.stamp").is_file()


def test_broker_answers_on_loopback(kafka_server: KafkaServer) -> None:
    assert kafka_server.bootstrap_servers == f"127.0.0.1:{kafka_server.port}"
    assert kafka_server.is_ready()
    assert kafka_server.startup_seconds is not None
    assert "Kafka Server started" in kafka_server.log(10_000)
    properties = kafka_server.config_path.read_text()
    assert "process.roles=broker,controller" in properties
    assert f"log.dirs={kafka_server.data_dir}" in properties


@pytest.mark.parametrize("compression", [None, "gzip", "lz4", "zstd", "snappy"])
async def test_round_trip(
    kafka_server: KafkaServer, kafka_topic: str, compression: str | None
) -> None:
    messages = numbered(f"click-{compression}", 50)
    await produce(
        kafka_server.bootstrap_servers, kafka_topic, messages, compression_type=compression
    )
    received = await consume(kafka_server.bootstrap_servers, kafka_topic, len(messages))
    assert sorted(received) == sorted(messages)


async def test_topic_has_the_requested_partitions(
    kafka_server: KafkaServer, kafka_topic: str
) -> None:
    async with producer(kafka_server.bootstrap_servers) as client:
        assert await client.partitions_for(kafka_topic) == {0, 1, 2, 3}
        # Keys spread over the partitions; each key stays on one.
        sent = [await client.send(kafka_topic, b"v", key=f"k{n}".encode()) for n in range(40)]
        partitions = {(await future).partition for future in sent}
    assert len(partitions) > 1


def test_create_topic_is_idempotent(kafka_server: KafkaServer, kafka_topic: str) -> None:
    kafka_server.create_topic(kafka_topic, 4)  # already exists: no error
    kafka_server.create_topic(f"{kafka_topic}-one", 1)


async def test_consumer_group_resumes_after_its_commit(
    kafka_server: KafkaServer, kafka_topic: str
) -> None:
    bootstrap, group = kafka_server.bootstrap_servers, f"{kafka_topic}-group"
    first, second = numbered("first", 20), numbered("second", 20)

    await produce(bootstrap, kafka_topic, first)
    assert sorted(await consume(bootstrap, kafka_topic, 20, group_id=group, commit=True)) == sorted(
        first
    )

    await produce(bootstrap, kafka_topic, second)
    # Read without committing: the group's position does not move...
    assert sorted(await consume(bootstrap, kafka_topic, 20, group_id=group)) == sorted(second)
    # ...so the next member gets the same messages again, and commits them.
    assert sorted(await consume(bootstrap, kafka_topic, 20, group_id=group, commit=True)) == sorted(
        second
    )
    # A new group starts from the earliest offset: it sees everything.
    everything = await consume(bootstrap, kafka_topic, 40, group_id=f"{group}-new")
    assert sorted(everything) == sorted(first + second)

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        partitions = [TopicPartition(kafka_topic, number) for number in range(4)]
        ends = await consumer.end_offsets(partitions)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()
    assert sum(ends.values()) == 40
    assert committed == ends


async def test_stop_and_start_keep_messages_and_address(private_kafka: KafkaServer) -> None:
    bootstrap = private_kafka.bootstrap_servers
    private_kafka.create_topic("kept", 2)
    await produce(bootstrap, "kept", numbered("before", 30))

    private_kafka.stop()
    assert not private_kafka.running
    private_kafka.start()

    assert private_kafka.bootstrap_servers == bootstrap
    await produce(bootstrap, "kept", numbered("after", 10))
    received = await consume(bootstrap, "kept", 40)
    assert sorted(received) == sorted(numbered("before", 30) + numbered("after", 10))


async def test_kill_then_start_recovers_acknowledged_messages(private_kafka: KafkaServer) -> None:
    bootstrap = private_kafka.bootstrap_servers
    # Auto-created on first use, with the broker's num.partitions.
    await produce(bootstrap, "crash", numbered("acked", 25))

    private_kafka.kill()
    assert not private_kafka.running
    log_offset = private_kafka.log_path.stat().st_size
    private_kafka.start()

    received = await consume(bootstrap, "crash", 25)
    assert sorted(received) == sorted(numbered("acked", 25))
    with private_kafka.log_path.open("rb") as log:
        log.seek(log_offset)
        assert b"since no clean shutdown file was found" in log.read()


async def test_send_fails_fast_while_down_and_works_after_restart(
    private_kafka: KafkaServer,
) -> None:
    bootstrap = private_kafka.bootstrap_servers
    private_kafka.create_topic("outage", 2)
    async with producer(bootstrap, request_timeout_ms=2000, retry_backoff_ms=100) as client:
        await client.send_and_wait("outage", b"up")

        private_kafka.stop()
        started = time.monotonic()
        with pytest.raises(KafkaError):
            # The outer timeout only guards against a hang; KafkaError must come first.
            await asyncio.wait_for(client.send_and_wait("outage", b"down"), 15)
        assert time.monotonic() - started < 10

        private_kafka.start()
        # The same client reconnects to the same address.
        metadata = await asyncio.wait_for(client.send_and_wait("outage", b"again"), 30)
        assert metadata.topic == "outage"

    assert sorted(await consume(bootstrap, "outage", 2)) == [b"again", b"up"]
