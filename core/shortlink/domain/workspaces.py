"""Workspaces: what links, API keys and quotas belong to, and the people in them.

A workspace is named by its slug. Workspaces made before they existed (migration 0007)
are named after the owner string their data had; new slugs are DNS labels, so one can
also be a Kubernetes label value (a namespace's workspace label).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Literal, cast

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.text import require_storable

SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A member is named by e-mail address, as sign-in asserts it. No '/', '?', '#' or '%':
# the address is a path segment of /v1/workspace/members/<member>.
MEMBER_PATTERN = re.compile(r"[^\s@/?#%\x00-\x1f\x7f]{1,64}@[^\s@/?#%\x00-\x1f\x7f]{1,255}")
MAX_NAME_LENGTH = 200
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650


RoleLabel = Literal["viewer", "editor", "admin", "owner"]


class Role(IntEnum):
    """A member's or key's role in a workspace; each may do all that the lower ones may."""

    VIEWER = 1  # reads links and their stats
    EDITOR = 2  # + creates, edits and deletes links
    ADMIN = 3  # + API keys, members up to admin, settings, the audit log
    OWNER = 4  # + makes and removes owners

    @property
    def label(self) -> RoleLabel:
        return cast(RoleLabel, self.name.lower())

    @classmethod
    def parse(cls, value: object, field: str = "role") -> Role:
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise InvalidRequest(f"{field} must be one of {', '.join(ROLE_LABELS)}", field=field)


ROLE_LABELS = tuple(role.label for role in Role)


@dataclass(frozen=True, slots=True)
class Workspace:
    slug: str
    name: str
    audit_retention_days: int
    created_at: datetime
    click_retention_days: int = 0  # 0: every click kept


@dataclass(frozen=True, slots=True)
class Member:
    workspace: str
    subject: str  # the person, as the sign-in names them (lower-case e-mail)
    role: Role
    added_at: datetime


def validate_slug(value: object) -> str:
    if not isinstance(value, str) or not SLUG_PATTERN.fullmatch(value):
        raise InvalidRequest(
            "workspace must be 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit",
            field="workspace",
        )
    return value


def validate_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"name must be 1-{MAX_NAME_LENGTH} characters", field="name")
    return require_storable(value.strip(), "name")


def validate_subject(value: object) -> str:
    """A member's identity, an e-mail address: case-insensitive, as they are in practice."""
    if not isinstance(value, str) or not MEMBER_PATTERN.fullmatch(value):
        raise InvalidRequest("member must be an e-mail address", field="member")
    return require_storable(value.lower(), "member")


def whole_days(value: object, field: str, least: int, most: int, meaning: str = "") -> int:
    """A retention in whole days from ``least`` to ``most``, else a 400 naming ``field``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 30.0 is the integer 30
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise InvalidRequest(f"{field} must be {least}{meaning} to {most}", field=field)
    return value


def validate_retention(value: object) -> int:
    return whole_days(value, "audit_retention_days", MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)
