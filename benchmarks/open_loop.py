"""A fixed-rate (open-loop) HTTP client, the latency method without coordinated omission.

wrk keeps N requests in flight and sends the next only when one returns, so a server
stall delays the requests it would have sent and they never see the stall (coordinated
omission); its correction adds estimated samples. Here every request has an intended
start on a fixed schedule and its latency counts from then: a stall is charged to every
request that should have gone out during it, including those waiting for one of the
``connections`` (as at 64 connections, a request with none free waits, and that counts).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.sequential import percentile

LATENCY_METHOD = "open loop: fixed rate, latency from each request's intended start"
# The open loop runs at this share of the closed loop's (saturated) rate: a tail measured
# at saturation is queueing by Little's law; below it, it is the server's stalls.
OPEN_LOOP_SHARE = 0.7
# Requests are scheduled this long after the client is ready, so the first ones are on time.
LEAD_IN_S = 0.2


@dataclass(frozen=True)
class PlannedRequest:
    method: str
    path: str
    expected_status: int
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class OpenLoopRun:
    rate: float
    connections: int
    # From the intended start (what a user waits) and from the send (the server's share).
    latencies_ms: list[float]
    from_send_ms: list[float]
    elapsed_s: float
    failures: list[str]

    def fields(self, prefix: str) -> dict[str, Any]:
        """The run as JSON-line fields, each name starting with ``prefix``."""
        latencies = self.latencies_ms
        return {
            f"{prefix}latency_method": LATENCY_METHOD,
            f"{prefix}rate": round(self.rate, 1),
            f"{prefix}connections": self.connections,
            f"{prefix}requests": len(latencies),
            f"{prefix}achieved_rps": round(len(latencies) / self.elapsed_s, 1),
            f"{prefix}p50_ms": round(percentile(latencies, 50), 3),
            f"{prefix}p90_ms": round(percentile(latencies, 90), 3),
            f"{prefix}p99_ms": round(percentile(latencies, 99), 3),
            f"{prefix}max_ms": round(max(latencies), 3),
            f"{prefix}from_send_p99_ms": round(percentile(self.from_send_ms, 99), 3),
            f"{prefix}errors": len(self.failures),
            f"{prefix}failures": self.failures[:5],
        }


def intended_starts(count: int, rate: float, start: float) -> list[float]:
    """Request i is due at start + i / rate, whatever happened to the ones before it."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    return [start + index / rate for index in range(count)]


def open_loop(
    base_url: str,
    requests: Sequence[PlannedRequest],
    rate: float,
    *,
    connections: int,
    headers: dict[str, str] | None = None,
) -> OpenLoopRun:
    """Send ``requests`` at ``rate`` per second over at most ``connections`` connections."""
    return asyncio.run(_open_loop(base_url, requests, rate, connections, headers or {}))


async def _open_loop(
    base_url: str,
    requests: Sequence[PlannedRequest],
    rate: float,
    connections: int,
    headers: dict[str, str],
) -> OpenLoopRun:
    latencies_ms: list[float] = []
    from_send_ms: list[float] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        base_url, connector=connector, headers=headers, timeout=timeout
    ) as session:

        async def send(planned: PlannedRequest, intended: float) -> None:
            sent = time.perf_counter()
            try:
                async with session.request(
                    planned.method, planned.path, json=planned.json, allow_redirects=False
                ) as response:
                    await response.read()
                    if response.status != planned.expected_status:
                        failures.append(f"{planned.method} {planned.path}: {response.status}")
            except (aiohttp.ClientError, TimeoutError) as error:
                failures.append(f"{planned.method} {planned.path}: {error!r}")
            done = time.perf_counter()
            latencies_ms.append((done - intended) * 1000)
            from_send_ms.append((done - sent) * 1000)

        begin = time.perf_counter() + LEAD_IN_S
        tasks = []
        for planned, intended in zip(
            requests, intended_starts(len(requests), rate, begin), strict=True
        ):
            if (delay := intended - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(planned, intended)))
        await asyncio.gather(*tasks)
        elapsed_s = time.perf_counter() - begin
    return OpenLoopRun(rate, connections, latencies_ms, from_send_ms, elapsed_s, failures)


def open_loop_at_share(
    base_url: str,
    requests: Sequence[PlannedRequest],
    capacity_rps: float,
    *,
    duration_s: float,
    connections: int,
    headers: dict[str, str] | None = None,
) -> OpenLoopRun:
    """An open loop at OPEN_LOOP_SHARE of ``capacity_rps`` for up to ``duration_s``
    (shorter when fewer requests are given)."""
    rate = OPEN_LOOP_SHARE * capacity_rps
    wanted = max(1, round(rate * duration_s))
    return open_loop(base_url, requests[:wanted], rate, connections=connections, headers=headers)
