"""Every Redis client of the code is built here, from REDIS_URL: one server
(``redis://``, ``rediss://``, ``unix://``) or the master a group of Sentinels
names (``redis+sentinel://``), followed through failovers.

    redis+sentinel://[[user]:password@]host1[:26379],host2[:26379]/master[/db][?sentinel_password=...]

The user and password are the master's (and its replicas'); Sentinels that want a
password of their own get ``sentinel_password``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError, ResponseError

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
PLAIN_SCHEMES = ("redis", "rediss", "unix")


class RedisUrlError(ValueError):
    """REDIS_URL can't be used; the message says why."""


class RedisProblem(Exception):
    """Redis can't serve us right now; the message says why, on one line."""


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    @property
    def where(self) -> str:
        return ",".join(f"{host}:{port}" for host, port in self.sentinels)


def _host_port(item: str) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, port = item[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = item.partition(":")
    port = port or str(SENTINEL_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"REDIS_URL: {item!r} is not a sentinel host[:port]")
    return host, int(port)


def parse_sentinel_url(url: str) -> SentinelAddress | None:
    """The Sentinel address in ``url``; None for a one-server URL. RedisUrlError
    when the URL is neither (credentials are never echoed)."""
    scheme = url.partition("://")[0].lower()
    if scheme in PLAIN_SCHEMES:
        return None
    if scheme != SENTINEL_SCHEME:
        raise RedisUrlError(
            f"REDIS_URL must start with {', '.join(f'{s}://' for s in PLAIN_SCHEMES)} "
            f"or {SENTINEL_SCHEME}://"
        )
    # urlsplit rejects several host:port pairs in one netloc: split by hand.
    rest = url.partition("://")[2]
    netloc, _, path_query = rest.partition("/")
    credentials, at, hosts = netloc.rpartition("@")
    if not at:
        credentials, hosts = "", netloc
    path = urlsplit("/" + path_query)
    parts = [unquote(p) for p in path.path.split("/") if p]
    if not hosts or not parts or len(parts) > 2:
        raise RedisUrlError(
            f"REDIS_URL: {SENTINEL_SCHEME}:// needs sentinels and a master name: "
            f"{SENTINEL_SCHEME}://host1:26379,host2:26379/mymaster[/db]"
        )
    if len(parts) == 2 and not parts[1].isdigit():
        raise RedisUrlError("REDIS_URL: the database after the master name must be a number")
    user, colon, password = credentials.partition(":")
    query = parse_qs(path.query)
    return SentinelAddress(
        sentinels=tuple(_host_port(h) for h in hosts.split(",") if h),
        master=parts[0],
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=unquote(user) or None,
        password=unquote(password) if colon else None,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def redis_client(url: str, **options: Any) -> Redis:
    """A client for REDIS_URL; ``options`` are redis-py connection options
    (timeouts), the same for one server and for a Sentinel-found master."""
    address = parse_sentinel_url(url)
    if address is None:
        return Redis.from_url(url, **options)
    sentinel_options = {key: value for key, value in options.items() if key.startswith("socket_")}
    if address.sentinel_password:
        sentinel_options["password"] = address.sentinel_password
    sentinel = Sentinel(address.sentinels, sentinel_kwargs=sentinel_options)
    master: Redis = sentinel.master_for(
        address.master,
        db=address.db,
        username=address.username,
        password=address.password,
        **options,
    )
    return master


def _sentinel_pool(redis: Redis) -> SentinelConnectionPool | None:
    pool = redis.connection_pool
    return pool if isinstance(pool, SentinelConnectionPool) else None


async def check_redis(redis: Redis) -> None:
    """Ping the server (the current master); RedisProblem, one line, when the
    Sentinels know no such master."""
    pool = _sentinel_pool(redis)
    if pool is not None:
        try:
            await pool.sentinel_manager.discover_master(pool.service_name)
        except MasterNotFoundError:
            raise RedisProblem(
                f"no Sentinel reports a healthy master named {pool.service_name!r} "
                f"(asked {_sentinels(pool)})"
            ) from None
    await redis.ping()


async def check_quorum(redis: Redis) -> None:
    """RedisProblem when the Sentinels can't agree on a failover (SENTINEL CKQUORUM):
    Redis still serves, but losing its master would now be an outage."""
    pool = _sentinel_pool(redis)
    if pool is None:
        return
    errors = []
    for sentinel in pool.sentinel_manager.sentinels:
        try:
            await sentinel.execute_command("SENTINEL CKQUORUM", pool.service_name)
            return
        except ResponseError as exc:
            raise RedisProblem(f"Sentinels for {pool.service_name!r}: {exc}") from None
        except (RedisError, OSError) as exc:
            errors.append(str(exc))
    raise RedisProblem(f"no Sentinel answers (asked {_sentinels(pool)}): {errors[-1]}")


def is_sentinel(redis: Redis) -> bool:
    return _sentinel_pool(redis) is not None


def _sentinels(pool: SentinelConnectionPool) -> str:
    addresses = []
    for sentinel in pool.sentinel_manager.sentinels:
        kwargs = sentinel.connection_pool.connection_kwargs
        addresses.append(f"{kwargs.get('host')}:{kwargs.get('port')}")
    return ", ".join(addresses)
