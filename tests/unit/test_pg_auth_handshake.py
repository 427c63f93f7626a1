"""The relay's reading of a server's handshake (shortlink.adapters.pg_auth), byte by
byte: what passes to asyncpg, and which password requests are refused."""

from __future__ import annotations

import struct

import pytest

from shortlink.adapters.pg_auth import Handshake, refusal


def auth(code: int, extra: bytes = b"") -> bytes:
    return b"R" + struct.pack("!ii", 8 + len(extra), code) + extra


def feed_bytewise(data: bytes) -> tuple[bytes, int | None]:
    handshake, passed = Handshake(), b""
    for i in range(len(data)):
        chunk, refused = handshake.feed(data[i : i + 1])
        passed += chunk
        if refused is not None:
            return passed, refused
    return passed, None


SASL = auth(10, b"SCRAM-SHA-256\0\0")
READY = b"Z" + struct.pack("!i", 5) + b"I"


@pytest.mark.parametrize("code", [3, 5, 2, 7, 9])
def test_a_password_request_other_than_scram_is_refused(code: int) -> None:
    assert feed_bytewise(auth(code, b"salt" if code == 5 else b"")) == (b"", code)


def test_what_comes_before_a_refused_request_still_passes() -> None:
    notice = b"v" + struct.pack("!ii", 12, 0) + struct.pack("!i", 0)
    assert feed_bytewise(notice + auth(3)) == (notice, 3)


def test_scram_then_ok_passes_everything_after_it_unread() -> None:
    # After AuthenticationOk nothing is checked: an 'R'-looking byte later is data.
    stream = SASL + auth(11, b"r=x") + auth(12, b"v=y") + auth(0) + READY + auth(3)
    assert feed_bytewise(stream) == (stream, None)


def test_an_error_ends_the_handshake() -> None:
    error = b"E" + struct.pack("!i", 11) + b"SFATAL\0"
    assert feed_bytewise(error + auth(3)) == (error + auth(3), None)


def test_the_refusal_is_an_error_response_asyncpg_reads() -> None:
    message = refusal("db.example", 5432, 3)
    assert message[:1] == b"E"
    assert struct.unpack("!i", message[1:5])[0] == len(message) - 1
    assert b"C28000\0" in message and b"cleartext password" in message
