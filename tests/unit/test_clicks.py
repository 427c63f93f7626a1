"""What a click keeps of its headers: valid Unicode, clipped."""

from __future__ import annotations

import orjson
import pytest

from shortlink.domain.clicks import MAX_USER_AGENT_CHARS, header_text


def test_ascii_is_kept_as_is_up_to_the_limit() -> None:
    assert header_text("Mozilla/5.0", 512) == "Mozilla/5.0"
    assert header_text("x" * 600, MAX_USER_AGENT_CHARS) == "x" * MAX_USER_AGENT_CHARS


def test_bytes_that_were_not_utf8_become_replacement_characters() -> None:
    # What a server hands over for the header bytes b"Chrome \xff\xfe caf\xc3\xa9".
    received = b"Chrome \xff\xfe caf\xc3\xa9".decode("utf-8", "surrogateescape")
    assert header_text(received, 512) == "Chrome \ufffd\ufffd café"


@pytest.mark.parametrize("value", ["\ud800 lone", "ok \udcff", "é" * 600, "\U0001f600" * 600])
def test_the_result_always_encodes_and_is_clipped(value: str) -> None:
    text = header_text(value, 512)
    assert len(text) <= 512
    orjson.dumps(text)  # raises on lone surrogates
