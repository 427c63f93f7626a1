"""ServiceAccount access, the pure part: which bearer tokens are reviewed, and the roles
SHORTLINK_SERVICE_ACCOUNT_ROLES gives an account TokenReview names."""

from __future__ import annotations

import pytest

from shortlink.config import ConfigError, Settings
from shortlink.domain.service_accounts import (
    is_jwt,
    parse_service_account_roles,
    service_account_roles,
)
from shortlink.domain.workspaces import Role

RULES = parse_service_account_roles("ci/deployer=team-a:editor,ci/*=team-a:viewer,ops/*=ops:admin")


def test_only_jwt_shaped_tokens_are_reviewed() -> None:
    assert is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    assert not is_jwt("sl_abcdefghijklmnopqrstuvwxyz0123456789")
    assert not is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0")  # two parts
    assert not is_jwt("eyJ.a.b c")


def test_an_account_gets_its_own_rule_or_its_namespaces() -> None:
    assert service_account_roles("system:serviceaccount:ci:deployer", RULES) == {
        "team-a": Role.EDITOR
    }
    assert service_account_roles("system:serviceaccount:ci:other", RULES) == {"team-a": Role.VIEWER}
    assert service_account_roles("system:serviceaccount:ops:x", RULES) == {"ops": Role.ADMIN}
    assert service_account_roles("system:serviceaccount:dev:x", RULES) == {}
    assert service_account_roles("alice", RULES) == {}  # a user TokenReview knows: not ours


@pytest.mark.parametrize("spec", ["deployer=team-a:editor", "ci/De=team-a:editor", "ci/=a:viewer"])
def test_an_account_must_be_namespace_slash_name(spec: str) -> None:
    with pytest.raises(ValueError, match="namespace/name"):
        parse_service_account_roles(spec)
    with pytest.raises(ConfigError, match="SHORTLINK_SERVICE_ACCOUNT_ROLES"):
        Settings.from_env({"SHORTLINK_SERVICE_ACCOUNT_ROLES": spec})


def test_the_api_server_is_reached_over_https() -> None:
    with pytest.raises(ConfigError, match="https"):
        Settings.from_env(
            {"SHORTLINK_SERVICE_ACCOUNT_ROLES": "ci/*=a:viewer",
             "SHORTLINK_KUBERNETES_URL": "http://127.0.0.1:6443"}
        )  # fmt: skip
