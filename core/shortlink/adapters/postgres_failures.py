"""Which exceptions mean "PostgreSQL is unreachable" rather than "this query is wrong"."""

from __future__ import annotations

import asyncpg

# Server going away or refusing work: connection class 08, shutdown and startup
# (57P01-57P03), no connection slot left (53300), and a read-only server where a
# primary was expected (25006: we are talking to a standby after a failover).
_SERVER_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ReadOnlySQLTransactionError,
    # A pooled connection whose server died between an error and its end
    # (ReadyForQuery): the pool's reset on release then finds the protocol
    # mid-operation. Seen when a primary is killed under load; the pool has
    # already terminated that connection.
    asyncpg.InternalClientError,
)


def is_connection_failure(exc: BaseException) -> bool:
    """True for a database that could not be reached or went away: the errors
    above, socket-level ones (refused, reset, DNS, connect or pool-acquire
    timeouts: TimeoutError is an OSError), and a use of a connection the pool
    closed when its server died (e.g. ending the transaction that saw it die)."""
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc)
    return isinstance(exc, (*_SERVER_UNAVAILABLE, OSError))
