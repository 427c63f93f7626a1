"""The publisher's buffering and retry logic, over an in-memory transport."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from shortlink.adapters.event_codec import decode_clicks
from shortlink.adapters.event_publisher import (
    CLICKS_PER_RECORD,
    MAX_RECORD_BYTES,
    EventPublisher,
    Undeliverable,
)
from shortlink.domain.clicks import ClickEvent
from shortlink.domain.events import LinkEvent
from tests.support.waiting import until


class FlakyTransport:
    """Accepts records into ``topics``; refuses to connect or send while ``down``."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.topics: dict[str, list[bytes]] = {}
        self.sends = 0

    async def start(self) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")

    async def send(self, topic: str, records: Sequence[bytes]) -> None:
        self.sends += 1
        if self.down:
            raise ConnectionError("broker unreachable")
        self.topics.setdefault(topic, []).extend(records)

    async def stop(self) -> None:
        return None

    def click_ids(self) -> list[str]:
        return [
            event.event_id
            for record in self.topics.get("clicks", [])
            for event in decode_clicks(record)[0]
        ]


def _click(n: int) -> ClickEvent:
    return ClickEvent(f"ev{n}", "code", float(n), "10.0.0.1", "UA", "", "GET")


def _publisher(transport: FlakyTransport, capacity: int = 100) -> EventPublisher:
    return EventPublisher(
        transport, clicks_topic="clicks", links_topic="links", capacity=capacity, linger=0
    )


async def test_emit_buffers_until_the_background_task_delivers() -> None:
    transport = FlakyTransport()
    publisher = _publisher(transport)
    for n in range(3):
        publisher.emit(_click(n))
    assert publisher.buffered == 3 and transport.sends == 0  # nothing sent inline
    publisher.start()
    await until(lambda: publisher.delivered == 3)
    assert transport.click_ids() == ["ev0", "ev1", "ev2"]
    assert publisher.buffered == 0
    await publisher.stop()


async def test_overflow_is_dropped_and_counted_never_blocking() -> None:
    publisher = _publisher(FlakyTransport(), capacity=2)
    for n in range(5):
        publisher.emit(_click(n))
    assert (publisher.emitted, publisher.dropped, publisher.buffered) == (2, 3, 2)


async def test_many_clicks_travel_in_few_records() -> None:
    transport = FlakyTransport()
    publisher = _publisher(transport, capacity=10_000)
    count = CLICKS_PER_RECORD * 2 + 7
    for n in range(count):
        publisher.emit(_click(n))
    publisher.start()
    await until(lambda: publisher.delivered == count)
    assert len(transport.topics["clicks"]) == 3
    assert transport.click_ids() == [f"ev{n}" for n in range(count)]
    await publisher.stop()


async def test_broker_down_keeps_events_and_delivers_them_when_back() -> None:
    transport = FlakyTransport(down=True)
    publisher = _publisher(transport)
    publisher.start()
    publisher.emit(_click(1))
    publisher.publish(LinkEvent("url.created", "me", ("code",), 1.0))
    await asyncio.sleep(0.3)  # several failed attempts
    assert publisher.delivered == 0 and publisher.buffered == 2
    assert publisher.send_failures >= 1 and not publisher.connected
    transport.down = False
    await until(lambda: publisher.delivered == 2)
    assert transport.click_ids() == ["ev1"] and len(transport.topics["links"]) == 1
    await publisher.stop()


async def test_a_failed_send_puts_the_batch_back_in_order() -> None:
    transport = FlakyTransport()
    publisher = _publisher(transport)
    publisher.start()
    await until(lambda: publisher.connected)
    transport.down = True
    for n in range(3):
        publisher.emit(_click(n))
    await until(lambda: publisher.send_failures >= 1)
    publisher.emit(_click(3))
    transport.down = False
    await until(lambda: publisher.delivered == 4)
    assert transport.click_ids() == ["ev0", "ev1", "ev2", "ev3"]
    await publisher.stop()


async def test_stop_flushes_what_is_buffered() -> None:
    transport = FlakyTransport()
    # The loop would linger a minute before sending: stop() must flush anyway.
    publisher = EventPublisher(transport, clicks_topic="clicks", links_topic="links", linger=60)
    publisher.start()
    await until(lambda: publisher.connected)
    publisher.emit(_click(7))
    await asyncio.sleep(0.05)
    await publisher.stop()
    assert transport.click_ids() == ["ev7"]


async def test_stop_with_the_bus_failing_reports_but_does_not_raise() -> None:
    transport = FlakyTransport()
    publisher = EventPublisher(transport, clicks_topic="clicks", links_topic="links", linger=60)
    publisher.start()
    await until(lambda: publisher.connected)
    transport.down = True
    publisher.emit(_click(1))
    await publisher.stop()  # must return: shutdown is not held up by the bus
    assert publisher.buffered == 1 and publisher.delivered == 0


def _hostile_click(n: int, user_agent: str) -> ClickEvent:
    return ClickEvent(f"ev{n}", "code", float(n), "10.0.0.1", user_agent, "", "GET")


async def test_an_unencodable_click_is_dropped_and_counted_not_its_batch() -> None:
    transport = FlakyTransport()
    publisher = _publisher(transport)
    for n in range(11):
        publisher.emit(_hostile_click(n, "bad \udcff" if n == 5 else "UA"))
    publisher.start()
    await until(lambda: publisher.delivered == 10)
    assert publisher.undeliverable == 1
    assert transport.click_ids() == [f"ev{n}" for n in range(11) if n != 5]
    await publisher.stop()


async def test_an_unencodable_link_event_is_dropped_and_counted() -> None:
    transport = FlakyTransport()
    publisher = _publisher(transport)
    publisher.publish(LinkEvent("url.created", "\ud800", ("a",), 1.0))
    publisher.publish(LinkEvent("url.created", "me", ("b",), 1.0))
    publisher.start()
    await until(lambda: publisher.delivered == 1)
    assert publisher.undeliverable == 1 and len(transport.topics["links"]) == 1
    await publisher.stop()


async def test_records_stay_under_the_size_limit_however_large_the_clicks() -> None:
    transport = FlakyTransport()
    publisher = _publisher(transport, capacity=10_000)
    count = CLICKS_PER_RECORD * 2
    for n in range(count):
        publisher.emit(_hostile_click(n, "x" * 7_500))
    publisher.emit(_hostile_click(count, "y" * (MAX_RECORD_BYTES + 1)))  # alone too large
    publisher.start()
    await until(lambda: publisher.delivered == count)
    assert publisher.undeliverable == 1
    assert all(len(record) <= MAX_RECORD_BYTES for record in transport.topics["clicks"])
    assert transport.click_ids() == [f"ev{n}" for n in range(count)]
    await publisher.stop()


class RefusingTransport(FlakyTransport):
    """Refuses every click record for good, as Kafka does one that is too large."""

    async def send(self, topic: str, records: Sequence[bytes]) -> None:
        self.sends += 1
        if topic == "clicks" and self.sends == 1:
            raise Undeliverable("too large")
        await super().send(topic, records)


async def test_a_batch_the_bus_refuses_for_good_is_dropped_not_retried_forever() -> None:
    transport = RefusingTransport()
    publisher = _publisher(transport)
    for n in range(3):
        publisher.emit(_click(n))
    publisher.start()
    await until(lambda: publisher.undeliverable == 3)
    publisher.emit(_click(3))
    await until(lambda: publisher.delivered == 1)
    assert transport.click_ids() == ["ev3"] and publisher.buffered == 0
    await publisher.stop()


class SilentTransport(FlakyTransport):
    """Connects, then never answers a send: what an idempotent Kafka producer does
    while its only broker is down (it retries inside, and the send never fails)."""

    async def send(self, topic: str, records: Sequence[bytes]) -> None:
        self.sends += 1
        await asyncio.Event().wait()


async def test_a_send_the_bus_never_answers_is_reported_once_it_waits_too_long() -> None:
    now = [0.0]
    transport = SilentTransport()
    publisher = EventPublisher(
        transport,
        clicks_topic="clicks",
        links_topic="links",
        linger=0,
        stall_after=15.0,
        monotonic=lambda: now[0],
    )
    publisher.start()
    try:
        assert publisher.problem() == "the event bus has not connected"
        publisher.emit(_click(1))
        await until(lambda: transport.sends == 1)
        assert publisher.problem() is None  # connected, and a send may take a while
        now[0] = 15.5
        assert publisher.problem() == "an event delivery has waited 16 s for the bus"
        assert publisher.buffered == 0 and publisher.send_failures == 0  # nothing resent
    finally:
        await publisher.stop(flush_timeout=0.1)
