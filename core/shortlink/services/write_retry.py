"""Retry a database write across a failover; then DatabaseUnavailable, never a hang."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shortlink.adapters.postgres_failures import is_connection_failure
from shortlink.domain.errors import DatabaseUnavailable
from shortlink.domain.retries import WRITE_RETRIES, backoff_delays

log = logging.getLogger(__name__)

T = TypeVar("T")
# One try's budget: a frozen primary must not hold a request for the 10 s command timeout.
ATTEMPT_TIMEOUT = 5.0
# How often a pause asks whether a writable primary is back.
READY_POLL_S = 0.2


async def _keep_connections() -> None:
    pass


class WriteRetry:
    """Run a write (a whole transaction: it must be safe to run again, e.g. by
    recognising its own rows) up to 1 + `retries` times. A connection-class
    failure (or a try past `attempt_timeout`) drops the pool's connections
    (`reset`), waits the next backoff pause and tries again; the last one raises
    DatabaseUnavailable. Any other error is the caller's.

    With `ready` (is a writable primary reachable now?), a pause ends as soon as
    it says yes, asked every `poll` seconds: the doubling pauses only say how
    long to wait at most. Without it, a retry could sleep right through the
    promotion: with the default 15 s window the retries come 2.1, 6.4 and 15 s
    after the failure, so a primary promoted at 10.5 s took writes from 15 s."""

    def __init__(
        self,
        reset: Callable[[], Awaitable[None]] = _keep_connections,
        window: float = 0.0,
        *,
        ready: Callable[[], Awaitable[bool]] | None = None,
        retries: int = WRITE_RETRIES,
        attempt_timeout: float = ATTEMPT_TIMEOUT,
        poll: float = READY_POLL_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reset = reset
        self._delays = backoff_delays(window, retries)
        self._ready = ready
        self._attempt_timeout = attempt_timeout
        self._poll = poll
        self._sleep = sleep
        self._clock = clock

    async def __call__(self, write: Callable[[], Awaitable[T]], what: str = "write") -> T:
        for attempt, delay in enumerate((*self._delays, None), start=1):
            try:
                async with asyncio.timeout(self._attempt_timeout):
                    return await write()
            except Exception as exc:
                if not is_connection_failure(exc):
                    raise
                await (
                    self._reset()
                )  # whatever connections we had may point at a dead or demoted primary
                if delay is None:
                    log.error(
                        "database write failed after retries",
                        extra={"what": what, "attempts": attempt, "error": repr(exc)},
                    )
                    raise DatabaseUnavailable() from exc
                log.warning(
                    "database write failed; retrying",
                    extra={
                        "what": what,
                        "attempt": attempt,
                        "pause_s": round(delay, 2),
                        "error": repr(exc),
                    },
                )
            await self._pause(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _pause(self, delay: float) -> None:
        """`delay` seconds, or until `ready` says a writable primary is back."""
        if self._ready is None:
            await self._sleep(delay)
            return
        deadline = self._clock() + delay
        while (left := deadline - self._clock()) > 0:
            await self._sleep(min(self._poll, left))
            left = deadline - self._clock()
            if left <= 0:
                return
            try:
                async with asyncio.timeout(left):
                    if await self._ready():
                        return
            except TimeoutError:
                return
