"""The analytics ingest loop: records → click events → enriched rows → store → commit.

Delivery is at-least-once (offsets are committed only after the rows are
stored); counts are exactly-once in effect because the store drops events whose
``event_id`` it already holds. That covers a crashed worker's uncommitted batch,
replayed by the next owner of its partitions, and a producer's retried send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shortlink.adapters.click_counters import HOT_THRESHOLD
from shortlink.adapters.event_source import EventSource, SourceRecord
from shortlink.domain.analytics import ClickRow
from shortlink.domain.clicks import ClickEvent

log = logging.getLogger(__name__)

_BYTES_PER_EVENT = 160  # rough size of one event in a record, to size batches
_MAX_BACKOFF = 10.0
_RECORDS_PER_FETCH = 10


class ClickStore(Protocol):
    async def insert(self, rows: Sequence[ClickRow]) -> Sequence[ClickRow]:
        """Store the rows not stored before; returns those it stored."""
        ...

    async def ping(self) -> None:
        """Raise unless the store answers (tells an outage from a row it refuses)."""
        ...

    async def link_totals(self, codes: Collection[str], minimum: int) -> dict[str, int]:
        """All-time human clicks of those ``codes`` that have more than ``minimum``."""
        ...


class HotCounters(Protocol):
    async def add(self, clicks: Mapping[str, int]) -> set[str]: ...

    async def promote(self, totals: Mapping[str, int]) -> None: ...


Decoder = Callable[[bytes | None], tuple[list[ClickEvent], int]]


@dataclass
class IngestTally:
    records: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    poison_records: int = 0
    malformed_events: int = 0
    batches: int = 0
    failures: int = 0  # batches that failed to store (and were retried)
    last_lag: float = 0.0  # seconds from the newest stored click to its storage


@dataclass
class _Batch:
    """Records gathered and made into rows, waiting to be stored and committed."""

    records: int
    positions: dict[str, int] = field(default_factory=dict)  # stream -> last offset
    events: int = 0
    malformed: int = 0  # events the decoder skipped
    unenriched: int = 0  # events enrichment failed on
    rows: list[ClickRow] = field(default_factory=list)


class ClickIngest:
    def __init__(
        self,
        source: EventSource,
        store: ClickStore,
        decode: Decoder,
        enrich: Callable[[ClickEvent], ClickRow],
        counters: HotCounters,
        *,
        batch_events: int = 20_000,
        flush_interval: float = 1.0,
        promote_interval: float = 10.0,
        hot_threshold: int = HOT_THRESHOLD,
        clock: Callable[[], float] = time.time,
        observe_lag: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self._source = source
        self._store = store
        self._decode = decode
        self._enrich = enrich
        self._counters = counters
        self._batch_events = batch_events
        self._flush_interval = flush_interval
        self._promote_interval = promote_interval
        self._hot_threshold = hot_threshold
        self._clock = clock
        self._observe_lag = observe_lag
        self._cold_seen: set[str] = set()  # clicked links without a hot counter yet
        self._next_promotion = time.monotonic() + promote_interval
        self.tally = IngestTally()

    async def run(self, stop: asyncio.Event) -> None:
        """Batch after batch until ``stop`` is set; a batch begun is finished.

        The next batch is gathered, decoded and enriched while the previous one is
        stored: the insert runs in a thread, and chDB and the HTTP client release
        the GIL while the engine works, so the two overlap. Batches are still stored
        and committed one at a time, in order."""
        storing: asyncio.Task[int] | None = None
        try:
            while not stop.is_set():
                batch = self._prepared(await self._gather())
                if storing is not None:
                    await storing
                storing = asyncio.create_task(self._stored(batch, stop))
        finally:
            if storing is not None:
                await storing

    async def step(self, stop: asyncio.Event | None = None) -> int:
        """Gather one batch (full, or what arrived within the flush interval),
        store it, commit it. Returns the number of events stored."""
        return await self._stored(self._prepared(await self._gather()), stop)

    async def _gather(self) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        deadline = time.monotonic() + self._flush_interval
        estimate = 0
        while estimate < self._batch_events:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # A few records at a time: each holds hundreds of events, and a batch
            # far past batch_events would only cost memory.
            fetched = await self._source.fetch(_RECORDS_PER_FETCH, remaining)
            records.extend(fetched)
            # Records hold many events each; bytes are a cheap proxy for the count.
            estimate += sum(len(r.value or b"") for r in fetched) // _BYTES_PER_EVENT
        return records

    def _prepared(self, records: list[SourceRecord]) -> _Batch:
        """Decoded and enriched rows of ``records``, with the positions to commit.
        Touches no tally but poison records: a batch being stored meanwhile counts
        its skipped events by difference."""
        batch = _Batch(records=len(records))
        events: list[ClickEvent] = []
        for record in records:
            stream, offset = record.stream, record.offset
            batch.positions[stream] = max(offset, batch.positions.get(stream, -1))
            try:
                decoded, malformed = self._decode(record.value)
            except ValueError as exc:  # PoisonMessage: skipped, never retried
                self.tally.poison_records += 1
                log.warning(
                    "poison record skipped",
                    extra={"stream": stream, "offset": offset, "error": str(exc)},
                )
                continue
            batch.malformed += malformed
            events.extend(decoded)
        batch.events = len(events)
        batch.rows = self._enriched(events, batch)
        return batch

    async def _stored(self, batch: _Batch, stop: asyncio.Event | None) -> int:
        """Store ``batch`` and commit it; returns the number of events stored.

        A batch that fails to store is retried with backoff (the consumer has
        moved past it, so dropping it would lose it until the next rebalance),
        until it succeeds or ``stop`` is set; then it is left uncommitted, for
        whoever owns the partitions next."""
        stored = 0
        if batch.records:
            backoff = 0.2
            while True:
                try:
                    stored = await self._store_and_commit(batch)
                    break
                except Exception as exc:
                    self.tally.failures += 1
                    log.error(
                        "storing a batch failed; retrying",
                        extra={"error": repr(exc), "records": batch.records, "retry_in": backoff},
                    )
                    if stop is not None and stop.is_set():
                        return 0
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF)
        if time.monotonic() >= self._next_promotion:
            await self._promote()
        return stored

    async def _store_and_commit(self, batch: _Batch) -> int:
        tally = self.tally
        refused_before = tally.malformed_events
        stored = await self._insert_isolating(batch.rows)
        await self._count_hot(Counter(row.code for row in stored if row.is_human))
        await self._source.commit(batch.positions)

        refused = tally.malformed_events - refused_before
        tally.malformed_events += batch.malformed + batch.unenriched
        tally.records += batch.records
        tally.events += batch.events
        tally.stored += len(stored)
        tally.duplicates += batch.events - batch.unenriched - refused - len(stored)
        tally.batches += 1
        if stored:
            now = self._clock()
            tally.last_lag = now - max(row.ts for row in stored)
            # End-to-end lag of the batch's oldest click: an upper bound for all of them.
            self._observe_lag(now - min(row.ts for row in stored))
        return len(stored)

    def _enriched(self, events: list[ClickEvent], batch: _Batch) -> list[ClickRow]:
        rows = []
        for event in events:
            try:
                rows.append(self._enrich(event))
            except Exception as exc:  # one odd event must not hold the batch
                batch.unenriched += 1
                log.warning("click not enriched; skipped", extra={"error": repr(exc)})
        return rows

    async def _insert_isolating(self, rows: list[ClickRow]) -> list[ClickRow]:
        """Store ``rows``. If the store refuses them while it answers, the batch holds
        a row it can't take: halves are stored apart until that row stands alone, and
        it is skipped and counted, so it can't hold every later click (bisection:
        about 2·log2(n) inserts a bad row). An outage raises: the batch is retried."""
        try:
            return list(await self._store.insert(rows))
        except Exception as exc:
            try:
                await self._store.ping()
            except Exception:
                raise exc from None
            if len(rows) == 1:
                self.tally.malformed_events += 1
                log.warning(
                    "click refused by the store; skipped",
                    extra={"error": repr(exc), "event_id": rows[0].event_id},
                )
                return []
        middle = len(rows) // 2
        return [
            *await self._insert_isolating(rows[:middle]),
            *await self._insert_isolating(rows[middle:]),
        ]

    async def _count_hot(self, humans: Mapping[str, int]) -> None:
        # Hot counters are a convenience (ClickHouse holds the truth): their
        # outage must not hold up ingestion.
        try:
            self._cold_seen |= await self._counters.add(humans)
        except Exception as exc:
            log.warning("hot counters not updated", extra={"error": repr(exc)})

    async def _promote(self) -> None:
        """Give links that crossed the threshold a hot counter, from their stored total."""
        self._next_promotion = time.monotonic() + self._promote_interval
        candidates, self._cold_seen = self._cold_seen, set()
        if not candidates:
            return
        try:
            hot = await self._store.link_totals(candidates, self._hot_threshold)
            if hot:
                await self._counters.promote(hot)
        except Exception as exc:
            log.warning("hot counter promotion failed", extra={"error": repr(exc)})
