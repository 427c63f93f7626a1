import pytest

from shortlink.adapters.click_buffer import BufferedClickSink
from shortlink.domain.clicks import ClickEvent


def _event(n):
    return ClickEvent(f"e{n}", "abc1234", 1000.0 + n, "203.0.113.1", "ua", "", "GET")


def test_drain_returns_events_oldest_first_and_empties_the_buffer():
    sink = BufferedClickSink()
    events = [_event(n) for n in range(5)]
    for event in events:
        sink.emit(event)
    assert len(sink) == 5
    assert sink.drain() == events
    assert len(sink) == 0
    assert sink.drain() == []


def test_overflow_is_dropped_and_counted_without_raising():
    sink = BufferedClickSink(capacity=3)
    for n in range(10):
        assert sink.emit(_event(n)) is None
    assert (sink.emitted, sink.dropped, len(sink)) == (3, 7, 3)
    assert [e.event_id for e in sink.drain()] == ["e0", "e1", "e2"]


def test_room_frees_up_after_drain():
    sink = BufferedClickSink(capacity=1)
    sink.emit(_event(1))
    sink.emit(_event(2))
    sink.drain()
    sink.emit(_event(3))
    assert (sink.emitted, sink.dropped) == (2, 1)
    assert sink.drain() == [_event(3)]


@pytest.mark.parametrize(("limit", "taken"), [(0, 0), (2, 2), (4, 4), (10, 4), (None, 4)])
def test_drain_limit(limit, taken):
    sink = BufferedClickSink()
    for n in range(4):
        sink.emit(_event(n))
    drained = sink.drain(limit)
    assert drained == [_event(n) for n in range(taken)]
    assert len(sink) == 4 - taken


def test_zero_capacity_drops_everything():
    sink = BufferedClickSink(capacity=0)
    sink.emit(_event(1))
    assert (sink.emitted, sink.dropped, len(sink)) == (0, 1, 0)
