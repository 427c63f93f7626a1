"""Polling for a condition that another task or process makes true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

POLL = 0.02


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait (async) until ``condition()``; TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the condition is plain state, not an event
            await asyncio.sleep(POLL)


def until_sync(condition: Callable[[], bool], within: float = 10.0, what: str = "") -> None:
    """Blocking variant, for conditions in other processes."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {within}s: {what or condition}")
        time.sleep(POLL)
