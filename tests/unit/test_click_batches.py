"""The pure part of writing click batches so a crash can't tear one (domain.click_batches)."""

from __future__ import annotations

from dataclasses import replace

from shortlink.domain.analytics import ClickRow
from shortlink.domain.click_batches import (
    UNNAMED,
    landed_ids,
    monthly,
    new_token,
    token_window,
    write_order,
)

MARCH = 1_709_251_200  # 2024-03-01 00:00 UTC
ROW = ClickRow("", "c", 0, "GET", "", 0, "", "", None, None, "", "", "", "", "", "", False, True)


def _row(event_id: str, ts: float) -> ClickRow:
    return replace(ROW, event_id=event_id, ts=ts)


def test_a_token_carries_its_batch_window_in_stored_milliseconds() -> None:
    token = new_token([_row("a", MARCH + 0.0004), _row("b", MARCH + 2.5), _row("c", MARCH + 1)])
    assert token_window(token) == (MARCH * 1000, MARCH * 1000 + 2500)
    assert new_token([_row("a", MARCH)]) != new_token([_row("a", MARCH)])


def test_a_batch_is_written_in_time_order() -> None:
    rows = [_row("b", MARCH + 7200), _row("a", MARCH + 3600), _row("z", MARCH)]
    assert [row.event_id for row in write_order(rows)] == ["z", "a", "b"]


def test_a_batch_is_split_at_month_ends() -> None:
    rows = [
        _row("march", MARCH),
        _row("feb", MARCH - 0.001),
        _row("march too", MARCH - 0.0004),  # stored as MARCH's first millisecond
        _row("april", MARCH + 31 * 86_400),
    ]
    assert [{row.event_id for row in group} for group in monthly(rows)] == [
        {"feb"},
        {"march", "march too"},
        {"april"},
    ]
    assert monthly([]) == []


def test_an_id_is_stored_when_a_landed_batch_names_it() -> None:
    named = {"a": {"t1"}, "b": {"t2", "t3"}, "c": {"t2"}, "old": {UNNAMED}}
    assert landed_ids(named, {"t3", UNNAMED}) == {"b", "old"}
    assert landed_ids(named, set()) == set()
