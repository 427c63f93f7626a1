"""Prometheus view of the event publisher, read at scrape time (nothing per event)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from shortlink.adapters.event_publisher import EventPublisher


class _PublisherCollector(Collector):
    def __init__(self, publisher: EventPublisher | None) -> None:
        self._publisher = publisher

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        publisher = self._publisher
        events = CounterMetricFamily(
            "shortlink_events",
            "Events (clicks, link changes) by fate: emitted into the buffer, dropped "
            "because it was full, delivered to the bus, undeliverable (could never be "
            "encoded or was refused by the bus for good; dropped)",
            labels=["result"],
        )
        buffered = GaugeMetricFamily(
            "shortlink_event_buffer_events", "Events waiting in the in-memory buffer"
        )
        capacity = GaugeMetricFamily(
            "shortlink_event_buffer_capacity_events",
            "Events the click buffer holds before new ones are dropped",
        )
        connected = GaugeMetricFamily(
            "shortlink_event_bus_connected", "1 once the event transport has connected"
        )
        failures = CounterMetricFamily(
            "shortlink_event_send_failures", "Failed deliveries to the bus (each retried)"
        )
        if publisher is not None:
            events.add_metric(["emitted"], publisher.emitted)
            events.add_metric(["dropped"], publisher.dropped)
            events.add_metric(["delivered"], publisher.delivered)
            events.add_metric(["undeliverable"], publisher.undeliverable)
            buffered.add_metric([], publisher.buffered)
            capacity.add_metric([], publisher.capacity)
            connected.add_metric([], int(publisher.connected))
            failures.add_metric([], publisher.send_failures)
        yield from (events, buffered, capacity, connected, failures)


_collector: _PublisherCollector | None = None


def watch_events(publisher: EventPublisher | None) -> None:
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = _PublisherCollector(publisher)
    REGISTRY.register(_collector)
