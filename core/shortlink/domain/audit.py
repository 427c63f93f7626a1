"""The audit log's records: who changed what, when and from where.

Entries are written by the database itself (triggers on the audited tables, migration
0007), from the context the application puts in each writing transaction; denied
attempts at admin actions are written by the application.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shortlink.domain.access import ActorKind
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.expiry import QUERY_INSTANT, parse_instant
from shortlink.domain.text import require_storable


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who is changing things, and from where: one request's (or the operator's)."""

    actor_kind: ActorKind
    actor: str
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    workspace: str
    at: datetime
    actor_kind: str
    actor: str
    action: str
    target_type: str
    target: str
    outcome: str  # ok, denied
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    request_id: str | None


MAX_AUDIT_PAGE = 200
_TARGET_TYPES = frozenset({"link", "key", "member", "workspace", "endpoint"})
# One query value each; the last one counts if repeated (like the other list endpoints).
_TEXT_FILTERS = ("target_type", "target", "actor", "action")
_MAX_FILTER_LENGTH = 320
AUDIT_CURSOR = re.compile(r"[1-9][0-9]{0,17}")  # an entry id, below 2**63


@dataclass(frozen=True, slots=True)
class AuditFilter:
    target_type: str | None = None
    target: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 50


def parse_audit_filter(args: Mapping[str, list[str]]) -> AuditFilter:
    """GET /v1/audit's query: link=<code> (a link's history), target_type, target,
    actor, action, from/to (ISO 8601 instants), cursor (next_cursor of the page
    before), limit (1-200). Anything malformed is an InvalidRequest."""
    values = {name: items[-1] for name, items in args.items() if items}
    unknown = set(values) - {*_TEXT_FILTERS, "link", "from", "to", "cursor", "limit"}
    if unknown:
        raise InvalidRequest(f"Unknown query parameter(s): {', '.join(sorted(unknown))}")
    text = {name: _text(values, name) for name in _TEXT_FILTERS}
    if "link" in values:
        text["target_type"], text["target"] = "link", _text(values, "link")
    if text["target_type"] is not None and text["target_type"] not in _TARGET_TYPES:
        raise InvalidRequest(f"target_type must be one of {', '.join(sorted(_TARGET_TYPES))}")
    cursor = values.get("cursor")
    if cursor is not None and not AUDIT_CURSOR.fullmatch(cursor):
        raise InvalidRequest("cursor is not valid; use next_cursor from a previous page")
    limit_text = values.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_AUDIT_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_AUDIT_PAGE}")
    return AuditFilter(
        **text,
        since=_instant(values, "from"),
        until=_instant(values, "to"),
        before_id=int(cursor) if cursor is not None else None,
        limit=int(limit_text),
    )


def _text(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not value or len(value) > _MAX_FILTER_LENGTH:
        raise InvalidRequest(f"{name} must be 1-{_MAX_FILTER_LENGTH} characters")
    return require_storable(value, name)


def _instant(values: Mapping[str, str], name: str) -> datetime | None:
    value = values.get(name)
    if value is None:
        return None
    if not QUERY_INSTANT.fullmatch(value):
        raise InvalidRequest(f"{name} must be an ISO 8601 date or date-time, e.g. 2026-01-28")
    return parse_instant(value)
