"""Every Redis client of the code is built here, from REDIS_URL: one server
(``redis://``, ``rediss://``, ``unix://``), the master a group of Sentinels
names (``redis+sentinel://``), followed through failovers, or a Redis Cluster
(``redis+cluster://``), followed through its failovers and slot moves.

    redis+sentinel://[[user]:password@]host1[:26379],host2[:26379]/master[/db][?sentinel_password=...]
    redis+cluster://[[user]:password@]host1[:6379],host2[:6379][/]

The user and password are the master's (and its replicas'); Sentinels that want a
password of their own get ``sentinel_password``. A cluster URL names seed nodes
(any few; the client learns the rest) and no database: a cluster has only 0.
Keys that one command or script touches together share a hash tag (``{…}``), so
they live in one slot; see redis_cache.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379
CLUSTER_SCHEME = "redis+cluster"
REDIS_PORT = 6379
PLAIN_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SLOTS = 16384

# What the factory returns: the adapters use the commands both kinds share.
RedisClient: TypeAlias = Redis | RedisCluster


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


@dataclass(frozen=True)
class ClusterAddress:
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None


def _host_port(item: str, default_port: int, what: str) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, port = item[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = item.partition(":")
    port = port or str(default_port)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"REDIS_URL: {item!r} is not a {what} host[:port]")
    return host, int(port)


def _split(url: str) -> tuple[str, str, list[str], str]:
    """(credentials, hosts, path parts, query) of a URL naming several hosts."""
    # urlsplit rejects several host:port pairs in one netloc: split by hand.
    rest = url.partition("://")[2]
    netloc, _, path_query = rest.partition("/")
    credentials, at, hosts = netloc.rpartition("@")
    if not at:
        credentials, hosts = "", netloc
    path = urlsplit("/" + path_query)
    return credentials, hosts, [unquote(p) for p in path.path.split("/") if p], path.query


def _credentials(credentials: str) -> tuple[str | None, str | None]:
    user, colon, password = credentials.partition(":")
    return unquote(user) or None, unquote(password) if colon else None


def parse_redis_url(url: str) -> SentinelAddress | ClusterAddress | None:
    """The Sentinel or Cluster address in ``url``; None for a one-server URL.
    RedisUrlError when the URL is none of these (credentials are never echoed)."""
    scheme = url.partition("://")[0].lower()
    if scheme in PLAIN_SCHEMES:
        return None
    if scheme == CLUSTER_SCHEME:
        return _parse_cluster(url)
    if scheme != SENTINEL_SCHEME:
        raise RedisUrlError(
            f"REDIS_URL must start with {', '.join(f'{s}://' for s in PLAIN_SCHEMES)}, "
            f"{SENTINEL_SCHEME}:// or {CLUSTER_SCHEME}://"
        )
    credentials, hosts, parts, query_string = _split(url)
    if not hosts or not parts or len(parts) > 2:
        raise RedisUrlError(
            f"REDIS_URL: {SENTINEL_SCHEME}:// needs sentinels and a master name: "
            f"{SENTINEL_SCHEME}://host1:26379,host2:26379/mymaster[/db]"
        )
    if len(parts) == 2 and not parts[1].isdigit():
        raise RedisUrlError("REDIS_URL: the database after the master name must be a number")
    username, password = _credentials(credentials)
    query = parse_qs(query_string)
    return SentinelAddress(
        sentinels=tuple(_host_port(h, SENTINEL_PORT, "sentinel") for h in hosts.split(",") if h),
        master=parts[0],
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=username,
        password=password,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def _parse_cluster(url: str) -> ClusterAddress:
    credentials, hosts, parts, _ = _split(url)
    if not hosts:
        raise RedisUrlError(
            f"REDIS_URL: {CLUSTER_SCHEME}:// needs seed nodes: "
            f"{CLUSTER_SCHEME}://host1:6379,host2:6379/"
        )
    if parts not in ([], ["0"]):
        raise RedisUrlError("REDIS_URL: a Redis Cluster has only database 0; name none")
    username, password = _credentials(credentials)
    return ClusterAddress(
        nodes=tuple(_host_port(h, REDIS_PORT, "cluster node") for h in hosts.split(",") if h),
        username=username,
        password=password,
    )


def redis_client(url: str, **options: Any) -> RedisClient:
    """A client for REDIS_URL; ``options`` are redis-py connection options
    (timeouts), the same for one server, a Sentinel-found master or a cluster."""
    address = parse_redis_url(url)
    if address is None:
        return Redis.from_url(url, **options)
    if isinstance(address, ClusterAddress):
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in address.nodes],
            username=address.username,
            password=address.password,
            # Slots that are served keep serving while another is uncovered;
            # readiness names the gap (check_redis).
            require_full_coverage=False,
            # Once more after a refresh of the slot map (a failover, a moved slot),
            # then give up: callers ride out an outage on PostgreSQL, and redis-py's
            # default (3 retries, backoff, 0.25 s pauses) held a request for 7 s.
            retry=Retry(NoBackoff(), retries=1),
            **options,
        )
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


def same_slot_groups(redis: RedisClient, keys: Sequence[str]) -> list[list[int]]:
    """The positions of ``keys`` grouped so that one script or command can take each
    group: all of them for one server, those of one hash slot each in a cluster."""
    if not isinstance(redis, RedisCluster):
        return [list(range(len(keys)))] if keys else []
    groups: dict[int, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(redis.keyslot(key), []).append(position)
    return list(groups.values())


def shard_replicas(redis: RedisCluster, keys: Sequence[str]) -> dict[ClusterNode, int]:
    """The masters serving ``keys``, each with how many replicas the client's slot
    map gives it (CLUSTER SLOTS leaves failed replicas out)."""
    shards: dict[ClusterNode, int] = {}
    for key in keys:
        nodes = redis.nodes_manager.slots_cache.get(redis.keyslot(key))
        if nodes:  # else the slot has no master: the write itself fails
            primary, *replicas = nodes
            shards[primary] = len(replicas)
    return shards


def _sentinel_pool(redis: RedisClient) -> SentinelConnectionPool | None:
    if isinstance(redis, RedisCluster):
        return None
    pool = redis.connection_pool
    return pool if isinstance(pool, SentinelConnectionPool) else None


async def check_redis(redis: RedisClient) -> None:
    """Ping the server (the current master); RedisProblem, one line, when the
    Sentinels know no such master or a cluster does not serve every slot. Run
    every few seconds by readiness, it also keeps a cluster client's replicas
    current (_follow_replicas)."""
    if isinstance(redis, RedisCluster):
        await _check_cluster(redis)
        return
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


def unserved_slots(nodes: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, int]]:
    """The slot ranges no healthy master serves, from a parsed CLUSTER NODES."""
    served = [False] * CLUSTER_SLOTS
    for node in nodes.values():
        flags = set(str(node.get("flags", "")).split(","))
        if "master" not in flags or flags & {"fail", "fail?", "handshake", "noaddr"}:
            continue
        for start, *end in node.get("slots", []):
            for slot in range(int(start), int(end[0] if end else start) + 1):
                served[slot] = True
    gaps: list[tuple[int, int]] = []
    for slot, ok in enumerate(served):
        if ok:
            continue
        if gaps and gaps[-1][1] == slot - 1:
            gaps[-1] = (gaps[-1][0], slot)
        else:
            gaps.append((slot, slot))
    return gaps


def _ranges(gaps: list[tuple[int, int]]) -> str:
    shown = [f"{a}-{b}" if a != b else str(a) for a, b in gaps[:3]]
    more = f" and {len(gaps) - 3} more ranges" if len(gaps) > 3 else ""
    return ", ".join(shown) + more


async def _check_cluster(redis: RedisCluster) -> None:
    info = await redis.cluster_info()
    state = info.get("cluster_state")
    if state == "ok":
        await _follow_replicas(redis)
        return
    gaps = unserved_slots(await redis.cluster_nodes())
    where = f": slots {_ranges(gaps)} have no serving master" if gaps else ""
    raise RedisProblem(f"Redis Cluster state is {state}{where}")


async def _follow_replicas(redis: RedisCluster) -> None:
    """Relearn the slot map when the cluster lists other replicas than the client
    knows: edits wait for the replicas the client knows of (shard_replicas), and
    it relearns the map on its own only after an error. CLUSTER SLOTS lists the
    replicas that could be promoted with data (not failed, some replicated)."""
    known = redis.nodes_manager.slots_cache
    # redis-py parses the reply into {(start, end): {"primary": …, "replicas": […]}}.
    slots: Any = await redis.cluster_slots()
    for (start, _), shard in slots.items():
        listed = [f"{host}:{port}" for host, port, *_ in [shard["primary"], *shard["replicas"]]]
        if [node.name for node in known.get(start, [])] != listed:
            await redis.nodes_manager.initialize()
            return


async def check_quorum(redis: RedisClient) -> None:
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


def is_sentinel(redis: RedisClient) -> bool:
    return _sentinel_pool(redis) is not None


def has_replicas(redis: RedisClient) -> bool:
    """Sentinels or a cluster: a failover may promote a replica that lacks the
    latest writes (replication is asynchronous)."""
    return isinstance(redis, RedisCluster) or is_sentinel(redis)


def _sentinels(pool: SentinelConnectionPool) -> str:
    addresses = []
    for sentinel in pool.sentinel_manager.sentinels:
        kwargs = sentinel.connection_pool.connection_kwargs
        addresses.append(f"{kwargs.get('host')}:{kwargs.get('port')}")
    return ", ".join(addresses)
