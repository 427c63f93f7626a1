"""Fire-and-forget event publishing: a bounded in-memory buffer drained to a
transport (Kafka, or a Redis stream in dev) by one background task.

The request path only appends to a deque. A slow or absent broker therefore
never slows a redirect: the buffer fills, overflow is counted and dropped, and
what is buffered is delivered once the broker is back (a failed batch goes back
to the front of the buffer).

What can never be delivered must not hold the rest up: an event that can't be
encoded, or a record the bus refuses for good (``Undeliverable``), is dropped and
counted (``undeliverable``) instead of going back to the front forever. Records
are kept under ``MAX_RECORD_BYTES`` (a batch too large is split) so a burst of
large clicks never makes one the producer refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from shortlink.adapters.event_codec import Unencodable, encode_clicks, encode_link_event
from shortlink.domain.clicks import ClickEvent
from shortlink.domain.events import LinkEvent

log = logging.getLogger(__name__)

CLICKS_PER_RECORD = 500
RECORDS_PER_SEND = 16
RETRY_BACKOFF_MAX = 5.0
# Past the Kafka producer's request timeout (10 s): a send this old waits on a bus
# that does not answer.
STALL_AFTER = 15.0
# Below Kafka's defaults (producer max.request.size, broker message.max.bytes: 1 MiB).
MAX_RECORD_BYTES = 512 * 1024


class Undeliverable(Exception):
    """The bus refused records for good (e.g. too large): retrying can't help."""


class Transport(Protocol):
    """Delivers whole records to a topic; raises if any record was not accepted
    (``Undeliverable`` if retrying would never help)."""

    async def start(self) -> None: ...

    async def send(self, topic: str, records: Sequence[bytes]) -> None: ...

    async def stop(self) -> None: ...


class EventPublisher:
    """Implements both ClickSink and LinkEventSink."""

    def __init__(
        self,
        transport: Transport,
        *,
        clicks_topic: str,
        links_topic: str,
        capacity: int = 100_000,
        linger: float = 0.05,
        stall_after: float = STALL_AFTER,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._clicks_topic = clicks_topic
        self._links_topic = links_topic
        self._capacity = capacity
        self._linger = linger
        self._stall_after = stall_after
        self._monotonic = monotonic
        self._sending_since: float | None = None
        self._clicks: deque[ClickEvent] = deque()
        self._links: deque[LinkEvent] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self.emitted = 0
        self.dropped = 0
        self.delivered = 0
        self.undeliverable = 0
        self.send_failures = 0

    # -- the request path: O(1), never blocks, never raises -------------------

    def emit(self, event: ClickEvent) -> None:
        if len(self._clicks) >= self._capacity:
            self.dropped += 1
            return
        self._clicks.append(event)
        self.emitted += 1
        if len(self._clicks) == 1:
            self._wakeup.set()

    def publish(self, event: LinkEvent) -> None:
        if len(self._links) >= self._capacity:
            self.dropped += 1
            return
        self._links.append(event)
        self.emitted += 1
        self._wakeup.set()

    @property
    def buffered(self) -> int:
        return len(self._clicks) + len(self._links)

    @property
    def capacity(self) -> int:
        """Events the click buffer (and, separately, the link-change buffer) holds."""
        return self._capacity

    @property
    def connected(self) -> bool:
        return self._connected

    def problem(self) -> str | None:
        """Why events are not reaching the bus, in one line; None if they may be.
        A send that has waited too long counts: an idempotent Kafka producer retries
        a broker that is down inside the send, which then never fails."""
        if not self._connected:
            return "the event bus has not connected"
        if self._sending_since is not None:
            waited = self._monotonic() - self._sending_since
            if waited > self._stall_after:
                return f"an event delivery has waited {waited:.0f} s for the bus"
        return None

    # -- the background side --------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-publisher")

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Deliver what is buffered (bounded by ``flush_timeout``), then disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connected:
            # Best effort: a bus that is slow or failing must not hold up shutdown.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._flush_all(), flush_timeout)
        if self.buffered:
            log.warning("events not delivered at shutdown", extra={"count": self.buffered})
        with contextlib.suppress(Exception):
            await self._transport.stop()

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                if not self._connected:
                    await self._transport.start()
                    self._connected = True
                    log.info("event transport connected")
                await self._wakeup.wait()
                self._wakeup.clear()
                await asyncio.sleep(self._linger)  # let a batch gather
                await self._flush_all()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.send_failures += 1
                log.warning(
                    "event delivery failed; retrying",
                    extra={"error": repr(exc), "buffered": self.buffered, "retry_in": backoff},
                )
                self._wakeup.set()  # what is buffered still needs sending
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX)

    async def _flush_all(self) -> None:
        while self._links:
            changes = [self._links.popleft() for _ in range(len(self._links))]
            kept = changes
            try:
                records, kept = self._encode_links(changes)
                await self._send(self._links_topic, records, len(kept))
            except BaseException:
                self._links.extendleft(reversed(kept))
                raise
        while self._clicks:
            count = min(len(self._clicks), CLICKS_PER_RECORD * RECORDS_PER_SEND)
            events = [self._clicks.popleft() for _ in range(count)]
            sendable = events
            try:
                records, sendable = self._encode_clicks(events)
                await self._send(self._clicks_topic, records, len(sendable))
            except BaseException:
                # Back to the front: nothing already buffered is lost.
                self._clicks.extendleft(reversed(sendable))
                raise

    async def _send(self, topic: str, records: list[bytes], events: int) -> None:
        if not records:
            return
        self._sending_since = self._monotonic()
        try:
            await self._transport.send(topic, records)
        except Undeliverable as exc:
            self._give_up(events, f"refused by the bus: {exc}")
            return
        finally:
            self._sending_since = None
        self.delivered += events

    def _encode_links(self, changes: list[LinkEvent]) -> tuple[list[bytes], list[LinkEvent]]:
        records: list[bytes] = []
        kept: list[LinkEvent] = []
        for change in changes:
            try:
                records.append(encode_link_event(change))
            except Unencodable as exc:
                self._give_up(1, f"cannot be encoded: {exc}")
                continue
            kept.append(change)
        return records, kept

    def _encode_clicks(self, events: list[ClickEvent]) -> tuple[list[bytes], list[ClickEvent]]:
        records: list[bytes] = []
        kept: list[ClickEvent] = []
        for i in range(0, len(events), CLICKS_PER_RECORD):
            self._encode_within_limit(events[i : i + CLICKS_PER_RECORD], records, kept)
        return records, kept

    def _encode_within_limit(
        self, events: list[ClickEvent], records: list[bytes], kept: list[ClickEvent]
    ) -> None:
        """One record for ``events`` if it encodes within MAX_RECORD_BYTES; else the
        halves, down to single events, of which those that still can't are dropped."""
        try:
            record: bytes | None = encode_clicks(events)
        except Unencodable:
            record = None
        if record is not None and len(record) <= MAX_RECORD_BYTES:
            records.append(record)
            kept.extend(events)
        elif len(events) == 1:
            reason = "cannot be encoded" if record is None else f"is {len(record)} bytes"
            self._give_up(1, f"a click {reason}")
        else:
            half = len(events) // 2
            self._encode_within_limit(events[:half], records, kept)
            self._encode_within_limit(events[half:], records, kept)

    def _give_up(self, events: int, reason: str) -> None:
        self.undeliverable += events
        log.error("events dropped: undeliverable", extra={"count": events, "reason": reason})
