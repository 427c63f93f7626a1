"""The drain's end on a real listening socket: new connection attempts go
unanswered while connections the kernel already queued are still accepted, with
the request their client sent."""

from __future__ import annotations

import socket

import pytest

from shortlink.http.drain import refuse_new_connections


def test_refusing_new_connections_keeps_the_queued_ones() -> None:
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as queued:
            queued.sendall(b"GET /abc HTTP/1.1\r\n\r\n")
            assert refuse_new_connections(listener)
            with pytest.raises(TimeoutError):  # the SYN was dropped, not answered
                socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.recv(100) == b"GET /abc HTTP/1.1\r\n\r\n"
                accepted.sendall(b"HTTP/1.1 302 Found\r\n\r\n")  # it inherits the filter
                assert queued.recv(100) == b"HTTP/1.1 302 Found\r\n\r\n"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
