"""The redirector's Prometheus metrics.

The per-request ones (redirects by outcome and tier, their durations) are plain
counters the event loop bumps and a collector reads at scrape time:
prometheus_client's own take a lock and check their labels on every call, which
cost more than the rest of a cached redirect's bookkeeping. Only the event-loop
thread writes them; a scrape from another thread reads whole ints and floats.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import REGISTRY, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from shortlink.services.resolver import LinkResolver

# unavailable: a code no cache held while PostgreSQL was down (answered 503).
OUTCOMES = (
    "redirect",
    "not_found",
    "expired",
    "password_required",
    "unavailable",
    # Links with options (issue 22): before valid_from, past max_clicks (to a fallback or a page).
    "not_yet",
    "exhausted",
)
SOURCES = ("local", "redis", "db")
# error: the handler raised and was answered 500; no tier answered, hence source "none".
ERROR = ("error", "none")
DURATION_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip


class RedirectTally(Collector):
    """shortlink_redirects_total{outcome,source} and
    shortlink_redirect_duration_seconds, kept as plain numbers."""

    def __init__(self, buckets: tuple[float, ...] = DURATION_BUCKETS) -> None:
        self.counts = {(o, s): 0 for o in OUTCOMES for s in SOURCES} | {ERROR: 0}
        self._bounds = buckets
        # One per bound, plus +Inf; non-cumulative here, summed at scrape time.
        self._buckets = [0] * (len(buckets) + 1)
        self._seconds = 0.0

    def redirect(self, outcome: str, source: str, seconds: float) -> None:
        self.counts[outcome, source] += 1
        # bisect_left: a duration equal to a bound belongs to it (le is "<=").
        self._buckets[bisect_left(self._bounds, seconds)] += 1
        self._seconds += seconds

    def failure(self, status: int) -> None:
        """A redirect the app's exception handlers answered: counted (5xx only, a
        4xx there is an answer), without a duration. The error path, never per request."""
        if status == 503:
            self.counts["unavailable", "db"] += 1
        elif status >= 500:
            self.counts[ERROR] += 1

    def collect(self) -> Iterator[Metric]:
        redirects = CounterMetricFamily(
            "shortlink_redirects",
            "Redirect requests by outcome and by the cache tier that answered",
            labels=["outcome", "source"],
        )
        for (outcome, source), count in list(self.counts.items()):
            redirects.add_metric([outcome, source], count)
        yield redirects
        cumulative, total = [], 0
        for bound, count in zip((*self._bounds, float("inf")), list(self._buckets), strict=True):
            total += count
            cumulative.append((_le(bound), total))
        yield HistogramMetricFamily(
            "shortlink_redirect_duration_seconds",
            "Time spent serving a redirect, from handler entry to response",
            buckets=cumulative,
            sum_value=self._seconds,
        )


def _le(bound: float) -> str:
    """The le label as prometheus_client writes it ("0.025", "1.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(bound)


TALLY = RedirectTally()
REGISTRY.register(TALLY)


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
