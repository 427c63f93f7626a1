"""benchmarks.raw_floor: the request framing and answers of the raw uvloop floor."""

from __future__ import annotations

from benchmarks.raw_floor import (
    BAD_REQUEST,
    HEALTHZ,
    MAX_HEADER_BYTES,
    NOT_FOUND,
    answers_for,
    redirect_answer,
    take_responses,
)

ANSWERS = answers_for({"abc1234": "https://example.com/abc1234"})
GET = b"GET /abc1234 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"


def test_the_302_is_the_one_bare_sanic_sends() -> None:
    assert redirect_answer("https://example.com/x") == (
        b"HTTP/1.1 302 Found\r\nlocation: https://example.com/x\r\ncontent-length: 0\r\n"
        b"connection: keep-alive\r\ncontent-type: text/html; charset=utf-8\r\n\r\n"
    )


def test_pipelined_requests_are_answered_in_order() -> None:
    buffer = bytearray(GET + b"GET /nope HTTP/1.1\r\n\r\n" + b"GET /healthz HTTP/1.1\r\n\r\n")
    response, close = take_responses(buffer, ANSWERS)
    assert response == redirect_answer("https://example.com/abc1234") + NOT_FOUND + HEALTHZ
    assert not close
    assert buffer == b""


def test_a_split_request_waits_for_its_end() -> None:
    buffer = bytearray(GET[:10])
    assert take_responses(buffer, ANSWERS) == (b"", False)
    buffer += GET[10:]
    response, _ = take_responses(buffer, ANSWERS)
    assert response == redirect_answer("https://example.com/abc1234")


def test_query_is_ignored_and_other_methods_are_not_found() -> None:
    buffer = bytearray(b"GET /abc1234?utm=x HTTP/1.1\r\n\r\nHEAD /abc1234 HTTP/1.1\r\n\r\n")
    response, _ = take_responses(buffer, ANSWERS)
    assert response == redirect_answer("https://example.com/abc1234") + NOT_FOUND


def test_a_body_is_skipped_by_its_length_even_when_split() -> None:
    buffer = bytearray(b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
    assert take_responses(buffer, ANSWERS) == (b"", False)
    buffer += b"cde" + GET
    response, _ = take_responses(buffer, ANSWERS)
    assert response == NOT_FOUND + redirect_answer("https://example.com/abc1234")


def test_malformed_or_endless_headers_close_the_connection() -> None:
    assert take_responses(bytearray(b"nonsense\r\n\r\n"), ANSWERS) == (BAD_REQUEST, True)
    bad_length = bytearray(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    assert take_responses(bad_length, ANSWERS) == (BAD_REQUEST, True)
    endless = bytearray(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEADER_BYTES)
    assert take_responses(endless, ANSWERS) == (BAD_REQUEST, True)
