"""Draining on SIGTERM, the way Envoy and nginx do it.

Sanic's own SIGTERM handling stops listening at once and closes every connection
it finds idle, including one it has accepted but whose request it has not read
yet (the client sent it, nobody answers). Instead, on SIGTERM:

1. for ``drain`` seconds keep listening and serving, every answer saying
   ``Connection: close``, so keep-alive clients (and load balancers still
   sending, though the chart's preStop sleep has taken the pod out of the
   Service) move to other pods after one more answer;
2. then refuse new connections while still accepting those the kernel has
   queued (Linux, one process: a socket filter drops new SYNs; closing the
   listening socket would reset the queued ones, whose clients have sent a
   request), and once the queue is empty
3. run Sanic's graceful shutdown (stop listening, wait for in-flight requests),
   which here closes only a connection that is idle, holds no unread bytes and
   has been silent since the drain began: one that never sends again loses
   nothing; one accepted during the drain is answered or times out.

Nothing is checked per request: Sanic already reads ``config.KEEP_ALIVE`` for
every request header, and the drain turns it off.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import math
import select
import signal
import socket
import struct
import time
from functools import partial
from typing import Any

from sanic.http import Stage
from sanic.server.protocols.http_protocol import HttpProtocol

from shortlink.http.context import ComponentApp, Context
from shortlink.http.wire import StrictHttp

log = logging.getLogger(__name__)

# After new SYNs are dropped: handshakes already under way still complete into the
# accept queue within a round trip; wait at least this, at most the other, for it
# to empty.
QUEUE_SETTLE = 0.05
QUEUE_WAIT = 0.5
QUEUE_POLL = 0.005


class DrainingProtocol(HttpProtocol):
    """Sanic's HTTP/1.1 protocol that lets the drain find the connections and
    closes, at shutdown, only connections silent since the drain began. Requests
    are read and answers written by ``StrictHttp`` (wire.py)."""

    HTTP_CLASS = StrictHttp

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[no-untyped-call]
        # The set of open connections Sanic keeps; the drain marks the in-flight ones.
        self.app.ctx.connections = self.connections

    def close_if_idle(self) -> bool:
        http = self.http
        if http is None:
            if self._task is not None:
                return False  # just accepted: its request is on the way
        elif (
            http.stage is not Stage.IDLE
            or self.recv_buffer  # a request read, not yet parsed
            or self._time >= self.app.ctx.draining_since  # talked during the drain
        ):
            return False
        self.close()
        return True


def install_drain(app: ComponentApp[Context], seconds: float) -> None:
    """Drain for ``seconds`` on SIGTERM before Sanic's graceful shutdown. SIGINT
    (Ctrl-C) stops without draining. ``app.ctx.listener``, the public listening
    socket when one process owns it (server.serve), lets the drain's end refuse
    new connections without resetting queued ones."""
    app.ctx.draining_since = math.inf
    app.ctx.connections = set()
    app.ctx.listener = None

    @app.after_server_start
    async def drain_on_sigterm(app: ComponentApp[Context]) -> None:
        # Replaces the handler Sanic registered (app.stop) before this listener ran.
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGTERM, partial(begin_drain, app, seconds)
        )


def begin_drain(app: ComponentApp[Context], seconds: float) -> None:
    if app.ctx.draining_since != math.inf:
        return  # a repeated SIGTERM: the drain is already bounded
    app.ctx.draining_since = time.monotonic()
    app.config.KEEP_ALIVE = False  # every request parsed from now on is answered "close"
    for connection in app.ctx.connections:
        http = connection.http
        if http is not None and http.stage in (Stage.REQUEST, Stage.HANDLER):
            http.keep_alive = False  # parsed before the drain; its answer is not sent yet
    log.info("SIGTERM: draining for %.2f s, then shutting down", seconds)
    app.ctx.drain = asyncio.get_running_loop().create_task(end_drain(app, seconds))


async def end_drain(app: ComponentApp[Context], seconds: float) -> None:
    await asyncio.sleep(seconds)
    listener = app.ctx.listener
    if listener is not None and refuse_new_connections(listener):
        await asyncio.sleep(QUEUE_SETTLE)
        for _ in range(round(QUEUE_WAIT / QUEUE_POLL)):
            if not select.select([listener], [], [], 0)[0]:
                break  # none queued
            await asyncio.sleep(QUEUE_POLL)  # Sanic accepts them meanwhile
    app.stop(terminate=False)


# Classic BPF: drop a TCP segment whose flags are SYN without ACK, pass the rest
# (a filter on a TCP socket sees the TCP header at offset 0; accepted connections
# inherit it, and all their segments carry ACK).
_DROP_SYN = (
    (0x30, 0, 0, 13),  # ldb [13]: the flags byte
    (0x54, 0, 0, 0x12),  # and #(SYN|ACK)
    (0x15, 1, 0, 0x02),  # jeq #SYN, drop
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1: keep
    (0x06, 0, 0, 0),  # drop: ret #0
)
_SO_ATTACH_FILTER = 26


def refuse_new_connections(listener: socket.socket) -> bool:
    """New connection attempts get no answer (clients retry their SYN, then find
    the port closed), queued ones can still be accepted. False where the
    platform can't (not Linux)."""
    program = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in _DROP_SYN))
    fprog = struct.pack("HP", len(_DROP_SYN), ctypes.addressof(program))
    try:
        listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True
