"""Browser sessions: an opaque cookie that stands for an API key or a person, and the CSRF
rules a request made with it must meet. Pure: tokens, digests, comparisons, seals.

A session's record (in Redis) is sealed with an HMAC keyed by the server's secret and
bound to the session id it is stored for: whoever can write to Redis can neither forge
a record, nor copy one to an id they chose, nor edit one (issue 19, finding 4).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shortlink.domain.errors import DomainError
from shortlink.domain.workspaces import Role

SESSION_COOKIE = "shortlink_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    """256 random bits, URL-safe: a session id or a CSRF token."""
    return secrets.token_urlsafe(32)


def session_digest(session_id: str) -> str:
    """What the store keys on: a leaked store can't be replayed as cookies."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: with an API key (``key_hash``, the key's SHA-256 in hex, so
    a revoked key ends its sessions at the next request) or as a person signed in with
    OpenID Connect (``subject``, their member name, whose memberships are read at every
    request, and the roles their groups gave at sign-in)."""

    key_hash: str | None
    csrf_token: str
    expires_at: float  # epoch seconds
    subject: str | None = None
    group_roles: Mapping[str, Role] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What is stored (unsealed): a flat dict, so a field can be added."""
        common = {"csrf": self.csrf_token, "expires_at": self.expires_at}
        if self.subject is not None:
            roles = {workspace: role.label for workspace, role in self.group_roles.items()}
            return {"subject": self.subject, "roles": roles, **common}
        return {"key_hash": self.key_hash, **common}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Session | None:
        key_hash, subject = record.get("key_hash"), record.get("subject")
        csrf, expires_at = record.get("csrf"), record.get("expires_at")
        if not isinstance(csrf, str) or isinstance(key_hash, str) == isinstance(subject, str):
            return None
        if not isinstance(expires_at, int | float) or isinstance(expires_at, bool):
            return None
        if isinstance(key_hash, str):
            return cls(key_hash, csrf, float(expires_at))
        roles = record.get("roles")
        if not isinstance(roles, dict):
            return None
        try:
            group_roles = {str(ws): Role.parse(label) for ws, label in roles.items()}
        except DomainError:
            return None
        return cls(None, csrf, float(expires_at), subject, group_roles)


_SEAL = "mac"


def sealing_key(secret_key: str) -> bytes:
    """The sessions' own key, derived from SHORTLINK_SECRET_KEY (one secret to rotate;
    a MAC of one use is never valid for another)."""
    return hmac.new(secret_key.encode(), b"shortlink session record v1", hashlib.sha256).digest()


def _mac(key: bytes, session_id: str, record: dict[str, Any]) -> str:
    fields = {name: value for name, value in record.items() if name != _SEAL}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False)
    message = session_id.encode() + b"\0" + canonical.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal(record: dict[str, Any], session_id: str, key: bytes) -> dict[str, Any]:
    """``record`` with an HMAC over every field and the session id it belongs to."""
    return {**record, _SEAL: _mac(key, session_id, record)}


def unseal(stored: object, session_id: str, key: bytes) -> dict[str, Any] | None:
    """The record if its seal is this server's for this session id, else None."""
    if not isinstance(stored, dict) or not isinstance(stored.get(_SEAL), str):
        return None
    try:
        expected = _mac(key, session_id, stored)
    except (TypeError, ValueError):  # fields JSON can't hold as sealed
        return None
    if not hmac.compare_digest(expected, stored[_SEAL]):
        return None
    return {name: value for name, value in stored.items() if name != _SEAL}


def csrf_token_matches(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf_token, presented or "")


def same_origin(origin: str | None, host: str) -> bool:
    """A browser names the page that sent a request in Origin: it must be this
    host. A missing Origin is accepted (the CSRF token still has to match)."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()
