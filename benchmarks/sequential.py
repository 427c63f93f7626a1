"""Sequential request loops timed from Python, for bulk requests wrk cannot shape well."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson

BULK_SIZE = 1000


def percentile(samples: list[float], percent: float) -> float:
    """Nearest-rank percentile: the smallest sample with ``percent`` % at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class BulkRun:
    latencies_ms: list[float]
    elapsed_s: float
    urls_created: int
    failures: list[str]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s

    @property
    def urls_per_s(self) -> float:
        return self.urls_created / self.elapsed_s


def bulk_bodies(url_prefix: str, requests: int, size: int = BULK_SIZE) -> Iterator[bytes]:
    for request_index in range(requests):
        urls = [{"original_url": f"{url_prefix}{request_index}/{item}"} for item in range(size)]
        yield orjson.dumps({"urls": urls})


def created_codes(response: httpx.Response) -> list[tuple[str, str]]:
    """(short_code, original_url) for each created item of a bulk answer."""
    results = response.json()["results"]
    return [(item["short_code"], item["original_url"]) for item in results if "short_code" in item]


def run_bulk_sequence(
    client: httpx.Client, url: str, bodies: list[bytes], expected_per_request: int
) -> BulkRun:
    """POST each body in turn; bodies are built beforehand so only the exchange is timed."""
    latencies_ms: list[float] = []
    responses: list[httpx.Response] = []
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        before = time.perf_counter()
        responses.append(client.post(url, content=body, headers=headers))
        latencies_ms.append((time.perf_counter() - before) * 1000)
    elapsed_s = time.perf_counter() - started

    failures: list[str] = []
    created = 0
    for response in responses:
        if response.status_code != 201:
            failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
            continue
        answer = response.json()
        created += int(answer.get("created", 0))
        if answer.get("created") != expected_per_request or answer.get("failed"):
            failures.append(f"created={answer.get('created')} failed={answer.get('failed')}")
    return BulkRun(latencies_ms, elapsed_s, created, failures)
