"""The API's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "shortlink_api_requests_total", "API requests by route and status", ["route", "status"]
)
REQUEST_SECONDS = Histogram(
    "shortlink_api_request_duration_seconds",
    "API request latency by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LINKS_CREATED = Counter("shortlink_links_created_total", "Links created", ["kind"])
RATE_LIMITED = Counter("shortlink_rate_limited_total", "Requests refused by the rate limit")
UNLOCKS = Counter("shortlink_unlock_attempts_total", "Unlock attempts by result", ["result"])
