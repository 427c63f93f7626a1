"""Readiness: the rule per component, the dependency gauges, the background refresh."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from shortlink.http.readiness import Readiness


def gauge(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("shortlink_dependency_up", {"dependency": dependency})


class Switch:
    """A dependency a test turns off and on."""

    def __init__(self, up: bool = True, delay: float = 0.0) -> None:
        self.up, self.delay, self.calls = up, delay, 0

    async def __call__(self) -> None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if not self.up:
            raise ConnectionRefusedError("down")


async def test_every_dependency_is_needed_by_default() -> None:
    postgres, redis = Switch(), Switch(up=False)
    ready, checks = await Readiness({"postgres": postgres, "redis": redis}).probe()
    assert (ready, checks) == (False, {"postgres": True, "redis": False})
    assert gauge("postgres") == 1.0 and gauge("redis") == 0.0


async def test_a_rule_decides_from_the_results_and_every_check_is_still_listed() -> None:
    redis = Switch(up=False)
    either = Readiness(
        {"postgres": Switch(), "redis": redis}, lambda up: up["postgres"] or up["redis"]
    )
    assert await either.probe() == (True, {"postgres": True, "redis": False})
    redis.up = True
    assert await either.probe() == (True, {"postgres": True, "redis": True})


async def test_a_check_that_hangs_counts_as_down_within_the_timeout() -> None:
    hung = Switch(delay=5.0)
    readiness = Readiness({"clickhouse": hung}, timeout=0.05)
    started = asyncio.get_running_loop().time()
    assert await readiness.probe() == (False, {"clickhouse": False})
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_the_gauge_is_refreshed_in_the_background_without_probes() -> None:
    bus = Switch()
    readiness = Readiness({"bus": bus}, interval=0.01)
    readiness.start()
    try:
        await asyncio.sleep(0.05)
        assert gauge("bus") == 1.0
        bus.up = False
        await asyncio.sleep(0.05)
        assert gauge("bus") == 0.0
        assert bus.calls >= 3
    finally:
        await readiness.stop()
    calls = bus.calls
    await asyncio.sleep(0.03)
    assert bus.calls == calls  # stopped for good


async def test_unavailable_counters_exist_from_the_start() -> None:
    Readiness({"kubernetes": Switch()})
    sample = REGISTRY.get_sample_value(
        "shortlink_unavailable_responses_total", {"dependency": "kubernetes"}
    )
    assert sample is not None


async def test_each_failed_check_says_why_on_one_line() -> None:
    class Misnamed:
        async def __call__(self) -> None:
            raise LookupError("no master named 'prod'\n(asked s1:26379)")

    readiness = Readiness(
        {"redis": Misnamed(), "bus": Switch(delay=5.0), "pg": Switch()}, timeout=0.05
    )
    await readiness.probe()
    assert readiness.problems == {
        "redis": "no master named 'prod' (asked s1:26379)",
        "bus": "no answer within 0.05 s",
    }
