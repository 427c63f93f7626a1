"""The redirector's Prometheus metrics. Label children are bound once, up front:
``labels()`` per request would cost more than the rest of the bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from shortlink.adapters.click_buffer import BufferedClickSink
from shortlink.adapters.local_cache import LocalCache

OUTCOMES = ("redirect", "not_found", "expired", "password_required")
SOURCES = ("local", "redis", "db")

_redirects = Counter(
    "shortlink_redirects_total",
    "Redirect requests by outcome and by the cache tier that answered",
    ["outcome", "source"],
)
REDIRECTS = {(o, s): _redirects.labels(o, s) for o in OUTCOMES for s in SOURCES}

REDIRECT_SECONDS = Histogram(
    "shortlink_redirect_duration_seconds",
    "Time spent serving a redirect, from handler entry to response",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

CLICK_BUFFER = Gauge("shortlink_click_buffer_events", "Click events waiting in the buffer")
LOCAL_CACHE_ENTRIES = Gauge("shortlink_local_cache_entries", "Entries in the in-process cache")
LOCAL_CACHE_ENABLED = Gauge(
    "shortlink_local_cache_enabled", "1 while the invalidation feed is live and L1 is in use"
)
CACHE_ERRORS = Counter("shortlink_cache_errors_total", "Redis errors the redirector rode out")


class _ClickSinkCollector(Collector):
    """Reads the sink's own tallies at scrape time: zero cost per click."""

    def __init__(self, sink: BufferedClickSink) -> None:
        self._sink = sink

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "shortlink_click_events", "Click events by fate", labels=["result"]
        )
        family.add_metric(["emitted"], self._sink.emitted)
        family.add_metric(["dropped"], self._sink.dropped)
        yield family


_collector: _ClickSinkCollector | None = None


def watch(sink: BufferedClickSink, local: LocalCache) -> None:
    """Point the scrape-time metrics at this process's sink and cache."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = _ClickSinkCollector(sink)
    REGISTRY.register(_collector)
    CLICK_BUFFER.set_function(lambda: len(sink))
    LOCAL_CACHE_ENTRIES.set_function(lambda: len(local))
    LOCAL_CACHE_ENABLED.set_function(lambda: int(local.enabled))
