"""Retry a database write across a failover; then DatabaseUnavailable, never a hang."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from shortlink.adapters.postgres_failures import is_connection_failure
from shortlink.domain.errors import DatabaseUnavailable
from shortlink.domain.retries import WRITE_RETRIES, backoff_delays

log = logging.getLogger(__name__)

T = TypeVar("T")
# One try's budget: a frozen primary must not hold a request for the 10 s command timeout.
ATTEMPT_TIMEOUT = 5.0


async def _keep_connections() -> None:
    pass


class WriteRetry:
    """Run a write (a whole transaction: it must be safe to run again, e.g. by
    recognising its own rows) up to 1 + `retries` times. A connection-class
    failure (or a try past `attempt_timeout`) drops the pool's connections
    (`reset`), waits the next backoff pause and tries again; the last one raises
    DatabaseUnavailable. Any other error is the caller's."""

    def __init__(
        self,
        reset: Callable[[], Awaitable[None]] = _keep_connections,
        window: float = 0.0,
        *,
        retries: int = WRITE_RETRIES,
        attempt_timeout: float = ATTEMPT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._reset = reset
        self._delays = backoff_delays(window, retries)
        self._attempt_timeout = attempt_timeout
        self._sleep = sleep

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
            await self._sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises
