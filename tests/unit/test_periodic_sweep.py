"""PeriodicSweep: sweeps again after a failed sweep, logs what a sweep did, stops."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shortlink.services.periodic import PeriodicSweep


class Flaky(PeriodicSweep):
    NAME = "flaky sweep"

    def __init__(self) -> None:
        super().__init__(every=0.001)
        self.calls = 0

    async def sweep(self) -> dict[str, int]:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("store down")
        return {"w": 1} if self.calls == 2 else {}


async def test_a_failed_sweep_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sweeper = Flaky()
    with caplog.at_level(logging.INFO, logger="shortlink.services.periodic"):
        sweeper.start()
        async with asyncio.timeout(5):  # a loop that died on the failure never gets here
            while sweeper.calls < 3:  # noqa: ASYNC110 - the sweeper has no event to wait on
                await asyncio.sleep(0.001)
        await sweeper.stop()
    messages = [(r.getMessage(), getattr(r, "count", None)) for r in caplog.records]
    assert messages[:2] == [("flaky sweep failed", None), ("flaky sweep done", 1)]
    assert all(message != "flaky sweep done" or count for message, count in messages)
    calls = sweeper.calls
    await asyncio.sleep(0.01)
    assert sweeper.calls == calls  # stopped
