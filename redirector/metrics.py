"""The redirector's Prometheus metrics. Label children are bound once, up front:
``labels()`` per request would cost more than the rest of the bookkeeping."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from shortlink.services.resolver import LinkResolver

# unavailable: a code no cache held while PostgreSQL was down (answered 503).
OUTCOMES = ("redirect", "not_found", "expired", "password_required", "unavailable")
SOURCES = ("local", "redis", "db")

_redirects = Counter(
    "shortlink_redirects_total",
    "Redirect requests by outcome and by the cache tier that answered",
    ["outcome", "source"],
)
REDIRECTS = {(o, s): _redirects.labels(o, s) for o in OUTCOMES for s in SOURCES}
# error: the handler raised and was answered 500; no tier answered, hence source "none".
REDIRECT_ERRORS = _redirects.labels("error", "none")


def count_failure(status: int) -> None:
    """Count a redirect the app's exception handlers answered (5xx only: a 4xx
    there is an answer). Called on the error path, never per request."""
    if status == 503:
        REDIRECTS["unavailable", "db"].inc()
    elif status >= 500:
        REDIRECT_ERRORS.inc()


REDIRECT_SECONDS = Histogram(
    "shortlink_redirect_duration_seconds",
    "Time spent serving a redirect, from handler entry to response",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

LOCAL_CACHE_ENTRIES = Gauge("shortlink_local_cache_entries", "Entries in the in-process cache")
LOCAL_CACHE_ENABLED = Gauge(
    "shortlink_local_cache_enabled", "1 while the invalidation feed is live and L1 is in use"
)


class _TallyCollector(Collector):
    """Reads the tally the resolver keeps anyway, at scrape time: zero cost per request."""

    def __init__(self, resolver: LinkResolver) -> None:
        self._resolver = resolver

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "shortlink_cache_errors",
            "Redis errors the redirector rode out by falling back to PostgreSQL",
            value=self._resolver.redis_errors,
        )


_collector: _TallyCollector | None = None


def watch(resolver: LinkResolver) -> None:
    """Point the scrape-time metrics at this process's resolver and cache."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = _TallyCollector(resolver)
    local = resolver.local
    REGISTRY.register(_collector)
    LOCAL_CACHE_ENTRIES.set_function(lambda: len(local))
    LOCAL_CACHE_ENABLED.set_function(lambda: int(local.enabled))
