"""Reading samples out of a Prometheus text exposition."""

from __future__ import annotations

import httpx


def sample(exposition: str, name: str, labels: str = "") -> float:
    """The value of ``name{labels}`` (labels as written, e.g. 'result="dropped"'); 0 if absent."""
    wanted = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in exposition.splitlines():
        if line.startswith(wanted):
            return float(line.split()[-1])
    return 0.0


def scrape(base_url: str, name: str, labels: str = "") -> float:
    return sample(httpx.get(f"{base_url}/metrics", timeout=5).text, name, labels)
