"""The PostgreSQL pool every process uses: it connects only to the writable primary.

DATABASE_URL may list several hosts (`postgresql://u:p@h1:5432,h2:5432/db?
target_session_attrs=read-write`). asyncpg's own multi-host connect gives all
hosts one overall timeout and moves on only after an OSError, so one
black-holed or frozen (SIGSTOPped) host would eat the whole budget. Here each
host gets `connect_timeout` of its own, and a connection is kept only if the
server is a writable primary: not in recovery, not read-only by default (how a
fenced old primary looks). The host that answered last is tried first.

After a failover the pool's connections to the old primary fail (it is dead, or
read-only): `Database.reset()` drops them all at once, so the next connection
is made by the connector above, to the new primary, and none goes back to the
old one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg

from shortlink.adapters.postgres import COMMAND_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

DEFAULT_PORT = 5432
# Asked right after connecting: is this a server we may write to?
_ROLE_QUERY = "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool"
_WRITABLE_ATTRS = {"read-write", "primary"}


class NoPrimaryAvailable(ConnectionError):
    """No host of DATABASE_URL accepted a connection as a writable primary
    (a ConnectionError, so every outage path treats it as one)."""


@dataclass(frozen=True)
class DatabaseUrl:
    """DATABASE_URL split into its hosts and one single-host DSN per host."""

    hosts: tuple[tuple[str, int], ...]  # empty: no TCP host named (a Unix socket)
    given: str  # the URL as given, for hostless (socket) URLs
    userinfo: str
    path: str
    params: tuple[tuple[str, str], ...]  # without target_session_attrs
    writable_only: bool

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        parts = urlsplit(url)
        userinfo, _, hostlist = parts.netloc.rpartition("@")
        hosts = tuple(_host_port(item) for item in hostlist.split(",") if item)
        params = parse_qsl(parts.query, keep_blank_values=True)
        attrs = [value for key, value in params if key == "target_session_attrs"]
        # One host and no wish stated: whatever it is (a dev database); several
        # hosts: the one to write to, unless the URL asks otherwise.
        writable_only = attrs[-1] in _WRITABLE_ATTRS if attrs else len(hosts) > 1
        return cls(
            hosts=hosts,
            given=url,
            userinfo=userinfo,
            path=parts.path,
            params=tuple((k, v) for k, v in params if k != "target_session_attrs"),
            writable_only=writable_only,
        )

    def dsn_for(self, host: str, port: int) -> str:
        netloc = f"{self.userinfo}@" if self.userinfo else ""
        netloc += f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        query = f"?{urlencode(self.params)}" if self.params else ""
        return f"postgresql://{netloc}{self.path}{query}"


def _host_port(item: str) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else DEFAULT_PORT
    host, _, port = item.partition(":")
    return host, int(port) if port else DEFAULT_PORT


class PrimaryConnector:
    """asyncpg's `connect=` for a pool: each host in turn, each on its own short
    timeout, keeping the first writable primary (or any server, if the URL
    doesn't ask for one)."""

    def __init__(self, url: DatabaseUrl, connect_timeout: float) -> None:
        self._url = url
        self._timeout = connect_timeout
        self._first = 0  # index of the host that answered last

    async def __call__(self, *args: Any, **kwargs: Any) -> asyncpg.Connection:
        hosts = self._url.hosts
        if not hosts:
            # A socket URL (`?host=/run/postgresql`, as `shortlink dev` uses) names
            # one local server: nothing to choose between, asyncpg connects as given.
            direct: asyncpg.Connection = await asyncpg.connect(
                self._url.given, timeout=self._timeout, **kwargs
            )
            return direct
        failures: list[str] = []
        for offset in range(len(hosts)):
            index = (self._first + offset) % len(hosts)
            host, port = hosts[index]
            try:
                conn = await self._connect(host, port, kwargs)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                failures.append(f"{host}:{port}: {exc!r}")
                continue
            if conn is None:
                failures.append(f"{host}:{port}: read-only")
                continue
            if index != self._first:
                log.info("database primary found", extra={"host": host, "port": port})
            self._first = index
            return conn
        raise NoPrimaryAvailable("no writable PostgreSQL primary: " + "; ".join(failures))

    async def _connect(
        self, host: str, port: int, kwargs: dict[str, Any]
    ) -> asyncpg.Connection | None:
        """A connection to host:port if it is the kind we want, else None."""
        async with asyncio.timeout(self._timeout):
            conn: asyncpg.Connection = await asyncpg.connect(
                self._url.dsn_for(host, port), timeout=self._timeout, **kwargs
            )
            try:
                if self._url.writable_only and await conn.fetchval(_ROLE_QUERY):
                    await conn.close()
                    return None
            except BaseException:
                conn.terminate()
                raise
            return conn


class Database:
    """The pool, plus `reset()`: drop every connection, e.g. after a failover, and
    `writable()`: can a connection to the writable primary be had now?"""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._probe: asyncio.Task[bool] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        connect_timeout: float = 2.0,
        command_timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> Database:
        connector = PrimaryConnector(DatabaseUrl.parse(url), connect_timeout)
        pool = await asyncpg.create_pool(
            connect=connector,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
        )
        return cls(pool)

    async def reset(self) -> None:
        """Close every pooled connection (idle ones now, busy ones on release), so
        the next query connects afresh to whichever host is the primary now."""
        await self.pool.expire_connections()

    async def writable(self) -> bool:
        """True once the pool holds (or just made, through the connector above) a
        connection to a writable primary. Retries waiting out a failover ask this
        every fraction of a second; concurrent callers share one probe, so a burst
        of them costs one round of connects, not one each."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._acquire())
        return await asyncio.shield(self._probe)

    async def _acquire(self) -> bool:
        try:
            # After reset() every pooled connection is stale: acquiring one connects
            # anew, and it stays in the pool for the retry that follows.
            async with self.pool.acquire():
                return True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    async def close(self) -> None:
        await self.pool.close()
