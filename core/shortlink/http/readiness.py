"""Readiness: which dependencies answer, and whether that is enough for this
component to do its job. Probed on /readyz and every few seconds in the
background, so ``shortlink_dependency_up`` stays live even when nobody probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from shortlink.http.ops_metrics import UNAVAILABLE_RESPONSES, dependency_up

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[object]]
# Given {dependency: up}, can the component do its job?
ReadyWhen = Callable[[Mapping[str, bool]], bool]

CHECK_TIMEOUT = 1.0
REFRESH_INTERVAL = 5.0


async def failure(check: ReadinessCheck, limit: float) -> str | None:
    """None when ``check`` passes, else why not, on one line (shown on /readyz: an
    operator reads it there, so it names the cause, e.g. a misnamed Sentinel master)."""
    try:
        await asyncio.wait_for(check(), limit)
    except TimeoutError:
        return f"no answer within {limit:g} s"
    except Exception as exc:  # any failure means "down"
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return reason[:300]
    return None


def all_up(checks: Mapping[str, bool]) -> bool:
    return all(checks.values())


class Readiness:
    """``checks`` raise or time out while their dependency is down; ``ready_when``
    decides from their results (default: every one must pass)."""

    def __init__(
        self,
        checks: Mapping[str, ReadinessCheck],
        ready_when: ReadyWhen = all_up,
        timeout: float = CHECK_TIMEOUT,
        interval: float = REFRESH_INTERVAL,
    ) -> None:
        self._checks = dict(checks)
        self._ready_when = ready_when
        self._timeout = timeout
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._last: dict[str, bool] = {}
        self.problems: dict[str, str] = {}  # failed checks' reasons, from the last probe
        for name in self._checks:
            UNAVAILABLE_RESPONSES.labels(name)  # exported as 0 from the start

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(self._checks)

    async def probe(self) -> tuple[bool, dict[str, bool]]:
        """(ready, {dependency: up}); updates the gauges and logs each change."""
        failures = await asyncio.gather(*(failure(c, self._timeout) for c in self._checks.values()))
        reasons = dict(zip(self._checks, failures, strict=True))
        self.problems = {name: reason for name, reason in reasons.items() if reason is not None}
        status = {name: reason is None for name, reason in reasons.items()}
        for name, up in status.items():
            dependency_up(name, up)
            if self._last.get(name, True) != up:
                log.warning(
                    f"dependency is up again: {name}" if up else f"dependency is down: {name}",
                    extra={"dependency": name},
                )
        self._last = status
        return self._ready_when(status), status

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh(), name="readiness-refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self._interval)
