"""Read the services' Prometheus counters, to show which cache tier answered a run."""

from __future__ import annotations

import re

import httpx

REDIRECTS_METRIC = "shortlink_redirects_total"
_SAMPLE = re.compile(r"^(\w+)\{([^}]*)\}\s+([0-9.eE+-]+)$", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def counter_by_label(exposition: str, metric: str, label: str) -> dict[str, float]:
    """Sum ``metric``'s samples by the value of ``label`` in Prometheus text format."""
    totals: dict[str, float] = {}
    for name, labels, value in _SAMPLE.findall(exposition):
        if name != metric:
            continue
        label_value = dict(_LABEL.findall(labels)).get(label)
        if label_value is not None:
            totals[label_value] = totals.get(label_value, 0.0) + float(value)
    return totals


def redirects_by_source(base_url: str) -> dict[str, float] | None:
    """Redirects served so far per tier (local, redis, db); None if /metrics is unavailable."""
    try:
        response = httpx.get(f"{base_url}/metrics", timeout=5.0)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return counter_by_label(response.text, REDIRECTS_METRIC, "source")


def difference(
    before: dict[str, float] | None, after: dict[str, float] | None
) -> dict[str, int] | None:
    if before is None or after is None:
        return None
    return {key: round(after[key] - before.get(key, 0.0)) for key in sorted(after)}
