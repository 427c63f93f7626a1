"""Which errors mean the database is unreachable (503), and which are bugs (500)."""

from __future__ import annotations

import socket

import asyncpg
import pytest

from shortlink.adapters.postgres_failures import is_connection_failure


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(),
        TimeoutError(),  # connect timeout, pool acquire timeout, our own lookup budget
        socket.gaierror(-2, "Name or service not known"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        ),
        # A transaction's end after the pool terminated its connection (server killed).
        asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed"
        ),
        asyncpg.InterfaceError("connection is closed"),
    ],
)
def test_outages(exc: BaseException) -> None:
    assert is_connection_failure(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedTableError("relation does not exist"),
        asyncpg.InterfaceError("another operation is in progress"),
        ValueError("bug"),
        KeyError("bug"),
    ],
)
def test_not_outages(exc: BaseException) -> None:
    assert not is_connection_failure(exc)
