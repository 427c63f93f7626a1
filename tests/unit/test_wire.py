"""http.wire's Date: an IMF-fixdate, formatted once a second, its encoding reused."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest

from shortlink.http import wire
from shortlink.http.errors import ECHOED_CHARS, echoed


def test_the_date_is_an_imf_fixdate_of_now() -> None:
    text = wire.http_date()
    assert text.endswith(" GMT") and len(text) == 29
    assert abs(parsedate_to_datetime(text).timestamp() - time.time()) < 2


def test_the_date_is_formatted_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire.time, "time", lambda: 1_700_000_000.2)
    first = wire.http_date()
    assert first == "Tue, 14 Nov 2023 22:13:20 GMT"
    monkeypatch.setattr(wire.time, "time", lambda: 1_700_000_000.9)
    assert wire.http_date() is first
    assert wire.encoded_date(first) == (b"date", first.encode())
    monkeypatch.setattr(wire.time, "time", lambda: 1_700_000_001.0)
    assert wire.http_date() == "Tue, 14 Nov 2023 22:13:21 GMT"
    assert wire.encoded_date(first) is None  # an old value is encoded the usual way


def test_error_messages_echo_a_long_path_cut_short() -> None:
    assert echoed("abc") == "abc"
    shown = echoed("x" * 4090)
    assert len(shown) == ECHOED_CHARS and shown.endswith("…")
