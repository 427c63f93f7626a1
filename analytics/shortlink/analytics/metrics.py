"""The analytics worker's Prometheus metrics, read from its tally at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from shortlink.services.ingest import ClickIngest

_COUNTERS = (
    ("records", "shortlink_analytics_records", "Bus records consumed"),
    ("events", "shortlink_analytics_events", "Click events decoded from records"),
    ("stored", "shortlink_analytics_stored", "Click rows stored in ClickHouse"),
    ("duplicates", "shortlink_analytics_duplicates", "Replayed events dropped by event_id"),
    ("poison_records", "shortlink_analytics_poison_records", "Unusable records skipped"),
    ("malformed_events", "shortlink_analytics_malformed_events", "Malformed events skipped"),
    ("batches", "shortlink_analytics_batches", "Batches stored and committed"),
    ("failures", "shortlink_analytics_store_failures", "Batch store attempts that failed"),
)


LAG_SECONDS = Histogram(
    "shortlink_analytics_batch_lag_seconds",
    "Per stored batch: seconds from its oldest click to its storage (end-to-end lag bound)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300),
)


class _IngestCollector(Collector):
    def __init__(self, ingest: ClickIngest) -> None:
        self._ingest = ingest

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        tally = self._ingest.tally
        for field, name, documentation in _COUNTERS:
            yield CounterMetricFamily(name, documentation, value=getattr(tally, field))
        yield GaugeMetricFamily(
            "shortlink_analytics_lag_seconds",
            "Age of the newest click in the last stored batch, when it was stored",
            value=tally.last_lag,
        )


_collector: _IngestCollector | None = None


def watch(ingest: ClickIngest) -> None:
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = _IngestCollector(ingest)
    REGISTRY.register(_collector)
