"""The event publisher on a real broker, fed clicks a hostile visitor can cause:
text that isn't valid Unicode, and a burst of huge headers (issue 13, finding 2).
Neither may lose other clicks or wedge the publisher."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer

from shortlink.adapters.event_codec import decode_clicks
from shortlink.adapters.event_publisher import EventPublisher
from shortlink.adapters.kafka_transport import KafkaTransport
from shortlink.domain.clicks import ClickEvent
from tests.harness.kafka import KafkaServer
from tests.support.waiting import until

pytestmark = pytest.mark.integration


def _click(n: int, user_agent: str = "Mozilla/5.0") -> ClickEvent:
    return ClickEvent(f"ev{n}", "code", 1.0e9 + n, "10.0.0.1", user_agent, "", "GET")


async def _deliver(
    kafka: KafkaServer, topic: str, clicks: list[ClickEvent], deliverable: int
) -> EventPublisher:
    transport = KafkaTransport(kafka.bootstrap_servers, request_timeout=5.0)
    publisher = EventPublisher(
        transport, clicks_topic=topic, links_topic=f"{topic}-links", capacity=10_000
    )
    for click in clicks:  # all buffered before the first send: one burst
        publisher.emit(click)
    publisher.start()
    try:
        await until(lambda: publisher.delivered >= deliverable, within=20)
    finally:
        await publisher.stop()
    return publisher


async def _delivered_ids(kafka: KafkaServer, topic: str, expected: int) -> list[str]:
    """The ids of the clicks on ``topic``, read until ``expected`` of them (or 20 s)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    ids: list[str] = []
    try:
        async with asyncio.timeout(20):
            while len(ids) < expected:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        ids += [event.event_id for event in decode_clicks(record.value)[0]]
    finally:
        await consumer.stop()
    return sorted(ids)


async def test_an_invalid_unicode_click_costs_only_itself(
    kafka_server: KafkaServer, kafka_topic: str
) -> None:
    clicks = [_click(n, "Mozilla \udcff\udcfe" if n == 5 else "Mozilla/5.0") for n in range(11)]
    publisher = await _deliver(kafka_server, kafka_topic, clicks, 10)
    assert (publisher.delivered, publisher.undeliverable) == (10, 1)
    assert await _delivered_ids(kafka_server, kafka_topic, 10) == sorted(
        f"ev{n}" for n in range(11) if n != 5
    )


async def test_a_burst_of_huge_clicks_is_delivered_without_wedging(
    kafka_server: KafkaServer, kafka_topic: str
) -> None:
    # 500 clicks of 7.5 KB made a 3.7 MB record: over the producer's 1 MiB, forever.
    clicks = [_click(n, "A" * 7_500) for n in range(1_000)] + [_click(1_000)]
    publisher = await _deliver(kafka_server, kafka_topic, clicks, 1_001)
    assert (publisher.delivered, publisher.undeliverable) == (1_001, 0)
    ids = await _delivered_ids(kafka_server, kafka_topic, 1_001)
    assert ids == sorted(f"ev{n}" for n in range(1_001))
