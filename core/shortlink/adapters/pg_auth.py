"""Connections to PostgreSQL that never give a password away in clear (or as MD5).

asyncpg answers whatever authentication a server asks for, cleartext included, and has
no setting to refuse one (libpq's ``require_auth`` has no asyncpg counterpart). The
operator connects as the superuser to hosts written by whoever writes a
PostgresCluster, so a server of theirs could ask for the password in clear and get it.
``scram_only`` puts a relay in between, in this process: it reads the server's side
of the handshake and, if the server asks for a cleartext or MD5 password (or anything
but SCRAM or no password at all), answers asyncpg with an error of its own instead of
passing the request on. After AuthenticationOk the relay only copies bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import struct
import tempfile
from collections.abc import AsyncIterator
from typing import Any

# Authentication request codes (the 'R' message): what may pass. 0 AuthenticationOk
# (trust: nothing sent), 10-12 the SASL exchange (SCRAM: the password never leaves).
_ALLOWED = frozenset({0, 10, 11, 12})
_NAMES = {3: "cleartext password", 5: "MD5 password", 2: "Kerberos", 7: "GSSAPI", 9: "SSPI"}
_CHUNK = 65536
_WIND_DOWN = 0.5  # seconds the relay may take to finish once its server is cut


def refusal(host: str, port: int, code: int) -> bytes:
    """The ErrorResponse the relay gives asyncpg (SQLSTATE 28000) instead of ``code``."""
    method = _NAMES.get(code, f"authentication method {code}")
    message = (
        f"{host}:{port} asked for {method} authentication; refused: the operator sends "
        "its password only through SCRAM (password_encryption = scram-sha-256 and a "
        "scram-sha-256 line in pg_hba.conf)"
    )
    fields = b"".join(
        kind + text.encode() + b"\0"
        for kind, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28000"), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


class Handshake:
    """The server's messages up to AuthenticationOk, checked one by one."""

    def __init__(self) -> None:
        self.buffer = b""
        self.done = False

    def feed(self, data: bytes) -> tuple[bytes, int | None]:
        """What may go on to the client now, and the refused request code if any."""
        self.buffer += data
        passed = b""
        while not self.done and len(self.buffer) >= 5:
            kind = self.buffer[:1]
            length = struct.unpack("!i", self.buffer[1:5])[0]
            if kind == b"R":
                if len(self.buffer) < 9:
                    break
                code = struct.unpack("!i", self.buffer[5:9])[0]
                if code not in _ALLOWED:
                    return passed, code
                self.done = code == 0
            if len(self.buffer) < 1 + length:
                break
            passed, self.buffer = passed + self.buffer[: 1 + length], self.buffer[1 + length :]
            if kind == b"E":
                self.done = True  # an error ends the handshake: nothing more to check
        if self.done:
            passed, self.buffer = passed + self.buffer, b""
        return passed, None


# A side that went away: OSError, or (uvloop) RuntimeError for a write to a closed
# transport. Either ends the relay quietly; asyncpg reports the connection's end.
_GONE = (OSError, RuntimeError)


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(*_GONE):
        while (data := await source.read(_CHUNK)) and not sink.is_closing():
            sink.write(data)
            await sink.drain()
    sink.close()


async def _guard(
    host: str,
    port: int,
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    upstream = asyncio.ensure_future(_copy(client[0], server[1]))
    handshake = Handshake()
    try:
        with contextlib.suppress(*_GONE):
            while data := await server[0].read(_CHUNK):
                passed, refused = handshake.feed(data)
                if refused is not None:
                    client[1].write(passed + refusal(host, port, refused))
                    break
                client[1].write(passed)
                await client[1].drain()
                if handshake.done:
                    await _copy(server[0], client[1])
                    break
    finally:
        server[1].close()
        client[1].close()
        upstream.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await upstream


@contextlib.asynccontextmanager
async def scram_only(host: str, port: int) -> AsyncIterator[str]:
    """A directory to give asyncpg as ``host`` (with the same ``port``): its Unix
    socket leads to ``host:port`` through the relay, for one connection. Connecting to
    the server happens here, so its errors (refused, unresolvable) are the caller's."""
    server = await asyncio.open_connection(host, port)
    directory = tempfile.mkdtemp(prefix="shortlink-pg-")  # 0700: ours alone
    tasks: list[asyncio.Task[Any]] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if tasks:  # one connection per relay
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        tasks.append(task)
        await _guard(host, port, server, (reader, writer))

    listener = await asyncio.start_unix_server(accept, os.path.join(directory, f".s.PGSQL.{port}"))
    try:
        yield directory
    finally:
        listener.close()
        # Cut the server side: the relay sees it end and finishes on its own. Not
        # cancelled: asyncio logs a cancelled connection handler as an error.
        server[1].transport.abort()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_WIND_DOWN)
            for task in pending:
                task.cancel()
        shutil.rmtree(directory, ignore_errors=True)
