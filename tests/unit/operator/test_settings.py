from __future__ import annotations

import pytest

from shortlink.config import ConfigError
from shortlink.operator.settings import OperatorSettings


def test_defaults() -> None:
    settings = OperatorSettings.from_env({"POD_NAME": "op-0"})
    assert settings.all_namespaces
    assert (settings.port, settings.drift_interval, settings.workers) == (8083, 30.0, 1000)
    assert settings.leader_election
    assert (settings.lease_name, settings.lease_namespace) == ("shortlink-operator", "default")
    assert settings.identity == "op-0"


def test_environment() -> None:
    settings = OperatorSettings.from_env(
        {
            "SHORTLINK_OPERATOR_NAMESPACES": "a, b,,",
            "SHORTLINK_OPERATOR_PORT": "0",
            "SHORTLINK_OPERATOR_DRIFT_INTERVAL": "0.5",
            "SHORTLINK_OPERATOR_LEADER_ELECTION": "off",
            "POD_NAMESPACE": "links",
            "SHORTLINK_OPERATOR_IDENTITY": "me",
            "SHORTLINK_OPERATOR_WORKERS": "8",
            "SHORTLINK_OPERATOR_RETRY_MAX": "10",
        }
    )
    assert settings.namespaces == ("a", "b")
    assert (settings.port, settings.drift_interval) == (0, 0.5)
    assert not settings.leader_election
    assert (settings.lease_namespace, settings.identity) == ("links", "me")
    assert (settings.workers, settings.retry_max) == (8, 10.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHORTLINK_OPERATOR_PORT", "70000"),
        ("SHORTLINK_OPERATOR_PORT", "x"),
        ("SHORTLINK_OPERATOR_DRIFT_INTERVAL", "-1"),
        ("SHORTLINK_OPERATOR_LEADER_ELECTION", "maybe"),
        ("SHORTLINK_OPERATOR_LEASE_SECONDS", "1"),
        ("SHORTLINK_OPERATOR_WORKERS", "0"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        OperatorSettings.from_env({name: value})


def test_command_line_namespaces_win() -> None:
    settings = OperatorSettings.from_env({"SHORTLINK_OPERATOR_NAMESPACES": "a"})
    assert settings.with_namespaces(["x", "y"], False).namespaces == ("x", "y")
    assert settings.with_namespaces([], True).all_namespaces
    assert settings.with_namespaces([], False).namespaces == ("a",)
    with pytest.raises(ConfigError):
        settings.with_namespaces(["x"], True)


def test_postgres_failover_switch() -> None:
    assert OperatorSettings.from_env({}).postgres_failover
    off = OperatorSettings.from_env({"SHORTLINK_OPERATOR_POSTGRES_FAILOVER": "false"})
    assert not off.postgres_failover
    with pytest.raises(ConfigError, match="SHORTLINK_OPERATOR_POSTGRES_FAILOVER"):
        OperatorSettings.from_env({"SHORTLINK_OPERATOR_POSTGRES_FAILOVER": "maybe"})
