"""The audit log's background work in the API: publishing new entries to the event bus
(the log in PostgreSQL is the outbox: at least once, none skipped) and deleting
entries past their workspace's retention."""

from __future__ import annotations

import asyncio
import logging
import time

from shortlink.adapters.audit import AuditOutbox
from shortlink.adapters.event_codec import encode_audit_entry
from shortlink.adapters.event_publisher import Transport
from shortlink.domain.audit import AuditEntry
from shortlink.services.periodic import BackgroundLoop

log = logging.getLogger(__name__)

BATCH = 500
RETENTION_EVERY = 3600.0  # seconds between retention sweeps


class AuditRelay(BackgroundLoop):
    def __init__(
        self,
        outbox: AuditOutbox,
        transport: Transport | None,
        topic: str,
        interval: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._transport = transport  # None: no bus, retention only
        self._topic = topic
        self._interval = interval
        self._last_sweep = float("-inf")

    async def stop(self) -> None:
        await super().stop()
        if self._transport is not None:
            await self._transport.stop()

    async def _send(self, entries: list[AuditEntry]) -> None:
        assert self._transport is not None
        await self._transport.send(self._topic, [encode_audit_entry(e) for e in entries])

    async def relay(self) -> int:
        """Publish everything pending now; returns how many entries went out."""
        if self._transport is None:
            return 0
        sent = 0
        while count := await self._outbox.relay_batch(self._send, BATCH):
            sent += count
        return sent

    async def sweep(self) -> int:
        """Delete what is past retention, a batch at a time; returns how many."""
        deleted = 0
        while count := await self._outbox.expire(BATCH):
            deleted += count
        return deleted

    async def _run(self) -> None:
        if self._transport is not None:
            await self._transport.start()
        while True:
            try:
                await self.relay()
                if time.monotonic() - self._last_sweep >= RETENTION_EVERY:
                    self._last_sweep = time.monotonic()
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus or the database is down: try again later
                log.warning("audit relay failed; will retry", extra={"error": repr(exc)})
            await asyncio.sleep(self._interval)
