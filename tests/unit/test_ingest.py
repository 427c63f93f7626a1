"""ClickIngest's batching, dedup accounting, poison handling and retries, over
in-memory stand-ins for the bus, the store and the counters."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

import pytest

from shortlink.adapters.event_codec import decode_clicks, encode_clicks
from shortlink.adapters.event_source import SourceRecord
from shortlink.domain.analytics import ClickRow
from shortlink.domain.clicks import ClickEvent
from shortlink.services.ingest import ClickIngest


class ListSource:
    def __init__(self, records: list[SourceRecord]) -> None:
        self.pending = records
        self.committed: dict[str, int] = {}

    async def start(self) -> None:
        return None

    async def fetch(self, max_records: int, wait: float) -> list[SourceRecord]:
        taken, self.pending = self.pending[:max_records], self.pending[max_records:]
        if not taken:
            await asyncio.sleep(min(wait, 0.01))
        return taken

    async def commit(self, positions: Mapping[str, int]) -> bool:
        self.committed.update(positions)
        return True

    async def stop(self) -> None:
        return None


class MemoryStore:
    """``failures``: inserts that fail as an outage would (a ping right after one fails
    too); ``refused``: codes whose rows it refuses while up (a value it can't hold)."""

    def __init__(self, failures: int = 0, refused: Collection[str] = ()) -> None:
        self.rows: dict[str, ClickRow] = {}
        self.failures = failures
        self.refused = set(refused)
        self.inserts = 0
        self._down = False

    async def insert(self, rows: Sequence[ClickRow]) -> Sequence[ClickRow]:
        self.inserts += 1
        self._down = bool(self.failures)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("clickhouse unreachable")
        if any(r.code in self.refused for r in rows):
            raise OverflowError("cannot convert float infinity to integer")
        fresh = {r.event_id: r for r in rows if r.event_id not in self.rows}
        self.rows.update(fresh)
        return list(fresh.values())

    async def ping(self) -> None:
        if self._down:
            raise ConnectionError("clickhouse unreachable")

    async def link_totals(self, codes: Collection[str], minimum: int) -> dict[str, int]:
        totals = {c: sum(r.code == c and r.is_human for r in self.rows.values()) for c in codes}
        return {c: t for c, t in totals.items() if t > minimum}


class MemoryCounters:
    def __init__(self, broken: bool = False) -> None:
        self.hot: dict[str, int] = {}
        self.broken = broken

    async def add(self, clicks: Mapping[str, int]) -> set[str]:
        if self.broken:
            raise ConnectionError("redis unreachable")
        for code, n in clicks.items():
            if code in self.hot:
                self.hot[code] += n
        return {c for c in clicks if c not in self.hot}

    async def promote(self, totals: Mapping[str, int]) -> None:
        for code, total in totals.items():
            self.hot.setdefault(code, total)


def _row(event: ClickEvent) -> ClickRow:
    is_bot = event.user_agent == "bot"
    return ClickRow(
        event.event_id, event.code, event.timestamp, event.method, "", 0, "", "", None, None,
        "desktop", "", "", event.user_agent, event.referrer, "", is_bot,
        event.method == "GET" and not is_bot,
    )  # fmt: skip


def _click(n: int, code: str = "abc", method: str = "GET", agent: str = "UA") -> ClickEvent:
    return ClickEvent(f"ev{n}", code, 1_700_000_000.0 + n, "10.0.0.1", agent, "", method)


def _record(offset: int, *events: ClickEvent, stream: str = "clicks/0") -> SourceRecord:
    return SourceRecord(stream, offset, encode_clicks(events))


def _ingest(
    source: ListSource,
    store: MemoryStore,
    counters: MemoryCounters | None = None,
    promote_interval: float = 3600,
    hot_threshold: int = 1000,
) -> ClickIngest:
    return ClickIngest(
        source,
        store,
        decode_clicks,
        _row,
        counters or MemoryCounters(),
        flush_interval=0.05,
        promote_interval=promote_interval,
        hot_threshold=hot_threshold,
    )


async def test_batch_is_stored_then_committed_per_stream() -> None:
    source = ListSource(
        [
            _record(0, _click(1), _click(2)),
            _record(7, _click(3), stream="clicks/1"),
            _record(1, _click(4)),
        ]
    )
    store = MemoryStore()
    ingest = _ingest(source, store)

    assert await ingest.step() == 4
    assert sorted(store.rows) == ["ev1", "ev2", "ev3", "ev4"]
    assert source.committed == {"clicks/0": 1, "clicks/1": 7}
    assert (ingest.tally.records, ingest.tally.events, ingest.tally.stored) == (3, 4, 4)


async def test_replayed_events_are_counted_as_duplicates_not_stored_twice() -> None:
    store = MemoryStore()
    await _ingest(ListSource([_record(0, _click(1), _click(2))]), store).step()
    replay = _ingest(ListSource([_record(0, _click(1), _click(2), _click(3))]), store)

    assert await replay.step() == 1
    assert replay.tally.duplicates == 2 and len(store.rows) == 3


async def test_poison_records_are_skipped_and_still_committed() -> None:
    source = ListSource(
        [
            SourceRecord("clicks/0", 0, b"\x00garbage"),
            SourceRecord("clicks/0", 1, b'{"v": 99, "type": "url.clicked", "events": []}'),
            _record(2, _click(1)),
        ]
    )
    ingest = _ingest(source, MemoryStore())

    assert await ingest.step() == 1
    assert ingest.tally.poison_records == 2
    assert source.committed == {"clicks/0": 2}  # the partition is not blocked


async def test_a_failed_store_is_retried_with_the_same_batch() -> None:
    source = ListSource([_record(0, _click(1))])
    store = MemoryStore(failures=2)
    ingest = _ingest(source, store)

    assert await ingest.step() == 1
    assert ingest.tally.failures == 2 and list(store.rows) == ["ev1"]
    assert source.committed == {"clicks/0": 0}


async def test_stop_during_store_outage_leaves_the_batch_uncommitted() -> None:
    source = ListSource([_record(0, _click(1))])
    stop = asyncio.Event()
    stop.set()
    ingest = _ingest(source, MemoryStore(failures=1))

    assert await ingest.step(stop) == 0
    assert source.committed == {}  # the next owner replays it


async def test_a_row_the_store_refuses_is_skipped_and_the_batch_goes_on() -> None:
    """Issue 19, finding 6: one bad row retried forever held every later click."""
    clicks = [_click(n) for n in range(1, 9)]
    poisoned = replace(_click(5), code="bad")
    source = ListSource([_record(0, *clicks[:4], poisoned), _record(1, *clicks[4:])])
    store = MemoryStore(refused={"bad"})
    ingest = _ingest(source, store)

    assert await asyncio.wait_for(ingest.step(), 5) == 8
    assert sorted(store.rows) == sorted(c.event_id for c in clicks)
    assert ingest.tally.malformed_events == 1 and ingest.tally.duplicates == 0
    assert source.committed == {"clicks/0": 1}
    assert store.inserts <= 2 + 2 * 4  # bisected: about log2(rows) inserts per bad row


async def test_an_event_enrichment_fails_on_is_skipped_and_counted() -> None:
    def enrich(event: ClickEvent) -> ClickRow:
        if event.user_agent == "explodes":
            raise ValueError("unparseable")
        return _row(event)

    source = ListSource([_record(0, _click(1), _click(2, agent="explodes"), _click(3))])
    store = MemoryStore()
    ingest = ClickIngest(
        source, store, decode_clicks, enrich, MemoryCounters(), flush_interval=0.05
    )

    assert await asyncio.wait_for(ingest.step(), 5) == 2
    assert ingest.tally.malformed_events == 1 and source.committed == {"clicks/0": 0}


async def test_hot_counters_count_human_clicks_of_promoted_links_only() -> None:
    counters = MemoryCounters()
    events = [_click(n, code="viral") for n in range(3)]
    events += [_click(10, code="viral", method="HEAD"), _click(11, code="viral", agent="bot")]
    store = MemoryStore()
    ingest = _ingest(
        ListSource([_record(0, *events)]), store, counters, promote_interval=0, hot_threshold=2
    )
    await ingest.step()  # stores, then promotes "viral": 3 human clicks > 2
    assert counters.hot == {"viral": 3}

    later = ListSource(
        [_record(1, _click(20, code="viral"), _click(21, code="viral", agent="bot"))]
    )
    await _ingest(later, store, counters).step()
    assert counters.hot == {"viral": 4}


async def test_counter_outage_does_not_hold_up_ingestion() -> None:
    source = ListSource([_record(0, _click(1))])
    ingest = _ingest(source, MemoryStore(), MemoryCounters(broken=True))

    assert await ingest.step() == 1
    assert source.committed == {"clicks/0": 0}


async def test_lag_is_measured_from_the_newest_stored_click() -> None:
    source = ListSource([_record(0, _click(1), replace(_click(2), timestamp=1_700_000_100.0))])
    ingest = ClickIngest(
        source, MemoryStore(), decode_clicks, _row, MemoryCounters(),
        flush_interval=0.05, clock=lambda: 1_700_000_103.5,
    )  # fmt: skip
    await ingest.step()
    assert ingest.tally.last_lag == pytest.approx(3.5)


class OneRecordSource(ListSource):
    """Hands out one record per fetch, and remembers each commit in order."""

    def __init__(self, records: list[SourceRecord]) -> None:
        super().__init__(records)
        self.commits: list[dict[str, int]] = []

    async def fetch(self, max_records: int, wait: float) -> list[SourceRecord]:
        return await super().fetch(1, wait)

    async def commit(self, positions: Mapping[str, int]) -> bool:
        self.commits.append(dict(positions))
        return await super().commit(positions)


class HeldStore(MemoryStore):
    """Each insert waits until the test lets it through (as a slow ClickHouse would)."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__(failures)
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def insert(self, rows: Sequence[ClickRow]) -> Sequence[ClickRow]:
        self.started.set()
        await self.release.wait()
        return await super().insert(rows)


def _one_event_batches(source: ListSource, store: MemoryStore, decoded: list[int]) -> ClickIngest:
    def decode(value: bytes | None) -> tuple[list[ClickEvent], int]:
        events, malformed = decode_clicks(value)
        decoded.extend(int(e.event_id[2:]) for e in events)
        return events, malformed

    return ClickIngest(
        source, store, decode, _row, MemoryCounters(), batch_events=1, flush_interval=0.05
    )


async def test_the_next_batch_is_decoded_while_one_is_stored_and_commits_stay_in_order() -> None:
    source = OneRecordSource([_record(0, _click(1)), _record(1, _click(2))])
    store = HeldStore()
    decoded: list[int] = []
    ingest = _one_event_batches(source, store, decoded)
    stop = asyncio.Event()
    running = asyncio.create_task(ingest.run(stop))

    await asyncio.wait_for(store.started.wait(), 5)
    for _ in range(50):  # the loop goes on while the first insert is held
        if decoded == [1, 2]:
            break
        await asyncio.sleep(0.01)
    assert decoded == [1, 2]
    assert source.commits == []  # nothing committed before its rows are stored

    store.release.set()
    for _ in range(100):
        if ingest.tally.stored == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert sorted(store.rows) == ["ev1", "ev2"]
    assert source.commits == [{"clicks/0": 0}, {"clicks/0": 1}]
    assert (ingest.tally.batches, ingest.tally.events, ingest.tally.duplicates) == (2, 2, 0)


async def test_stop_during_an_outage_leaves_the_stored_and_the_prepared_batch_uncommitted() -> None:
    source = OneRecordSource([_record(0, _click(1)), _record(1, _click(2))])
    store = HeldStore(failures=100)
    decoded: list[int] = []
    ingest = _one_event_batches(source, store, decoded)
    stop = asyncio.Event()
    running = asyncio.create_task(ingest.run(stop))

    await asyncio.wait_for(store.started.wait(), 5)
    store.release.set()
    for _ in range(100):
        if decoded == [1, 2] and ingest.tally.failures:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert decoded == [1, 2] and store.rows == {}
    assert source.commits == []  # both are replayed by the partitions' next owner
