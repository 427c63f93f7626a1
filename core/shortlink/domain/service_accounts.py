"""Kubernetes ServiceAccounts calling the API with their projected token: which bearer
tokens are theirs to review, and the roles configuration gives an account
(SHORTLINK_SERVICE_ACCOUNT_ROLES: ``namespace/name=workspace:role``, ``*`` for any
account of a namespace)."""

from __future__ import annotations

import re

from shortlink.domain.oidc import GroupRole, parse_group_roles, roles_from_groups
from shortlink.domain.workspaces import Role

USERNAME_PREFIX = "system:serviceaccount:"
_NAMESPACE = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_NAME = r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?"
_ACCOUNT = re.compile(rf"{_NAMESPACE}/(\*|{_NAME})")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_jwt(token: str) -> bool:
    """Shaped like a signed JWT (a ServiceAccount token), not like an API key."""
    return _JWT.fullmatch(token) is not None


def parse_service_account_roles(spec: str) -> tuple[GroupRole, ...]:
    """ValueError names an item that is not ``namespace/name|*=workspace:role``."""
    rules = parse_group_roles(spec)
    for rule in rules:
        if not _ACCOUNT.fullmatch(rule.group):
            raise ValueError(f"{rule.group!r} is not namespace/name or namespace/*")
    return rules


def service_account_roles(username: str, rules: tuple[GroupRole, ...]) -> dict[str, Role]:
    """workspace -> the role ``username`` (as TokenReview names it,
    system:serviceaccount:<namespace>:<name>) has there; {} for anyone else."""
    if not username.startswith(USERNAME_PREFIX):
        return {}
    namespace, _, name = username.removeprefix(USERNAME_PREFIX).partition(":")
    return roles_from_groups([f"{namespace}/{name}", f"{namespace}/*"], rules)
