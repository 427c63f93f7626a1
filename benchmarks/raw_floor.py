"""The raw floor: one uvloop ``asyncio.Protocol`` answering 302s, no framework at all.

Run as ``python -m benchmarks.raw_floor PORT [CODES_FILE]``. It serves
``GET /<code>`` as the same 302 bare Sanic sends (``benchmarks/bare_sanic.py``:
same Location, same headers) from a dict of ready-made answers, ``GET /healthz``
as a 200, anything else as a 404; HTTP/1.1 keep-alive, pipelined requests, a
request split over several reads. It reads nothing but the request line and the
end of the header (and skips a body by its Content-Length): the most one Python
process does on one core, the floor under bare Sanic.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import cast

import uvloop

from benchmarks.bare_sanic import load_targets

HEALTHZ = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
# A header past this without its blank line is refused (as Sanic's 431 would).
MAX_HEADER_BYTES = 8192
_END_OF_HEADER = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"


def redirect_answer(target: str) -> bytes:
    """The 302 bare Sanic's ``redirect(target, status=302)`` puts on the wire."""
    return (
        f"HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\n"
        "connection: keep-alive\r\ncontent-type: text/html; charset=utf-8\r\n\r\n"
    ).encode("latin-1")


def answers_for(targets: dict[str, str]) -> dict[bytes, bytes]:
    """Request path -> the whole response, built once."""
    answers = {f"/{code}".encode(): redirect_answer(target) for code, target in targets.items()}
    answers[b"/healthz"] = HEALTHZ
    return answers


def _body_length(header: bytes) -> int | None:
    """The Content-Length of a header block (None when malformed)."""
    start = header.lower().find(_CONTENT_LENGTH)
    if start < 0:
        return 0
    value = header[start + len(_CONTENT_LENGTH) :].split(b"\r\n", 1)[0].strip()
    return int(value) if value.isdigit() else None


def take_responses(buffer: bytearray, answers: dict[bytes, bytes]) -> tuple[bytes, bool]:
    """Consume every complete request at the front of ``buffer`` and return their
    answers joined, plus whether the connection must close (a malformed request).
    A partial request stays in ``buffer`` for the next read."""
    out: list[bytes] = []
    while True:
        end = buffer.find(_END_OF_HEADER)
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                out.append(BAD_REQUEST)
                return b"".join(out), True
            return b"".join(out), False
        header = bytes(buffer[:end])
        parts = header.split(b"\r\n", 1)[0].split(b" ")
        body = _body_length(header)
        if len(parts) != 3 or body is None:
            out.append(BAD_REQUEST)
            return b"".join(out), True
        consumed = end + len(_END_OF_HEADER) + body
        if len(buffer) < consumed:
            return b"".join(out), False
        del buffer[:consumed]
        method, target = parts[0], parts[1]
        answer = answers.get(target.split(b"?", 1)[0]) if method == b"GET" else None
        out.append(answer or NOT_FOUND)


class RedirectProtocol(asyncio.Protocol):
    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.answers = answers
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        response, close = take_responses(self.buffer, self.answers)
        assert self.transport is not None
        if response:
            self.transport.write(response)
        if close:
            self.transport.close()


async def serve(port: int, answers: dict[bytes, bytes]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: RedirectProtocol(answers), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    port = int(argv[0])
    codes_file = Path(argv[1]) if len(argv) > 1 else None
    uvloop.run(serve(port, answers_for(load_targets(codes_file))))


if __name__ == "__main__":
    main(sys.argv[1:])
