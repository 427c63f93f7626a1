"""Browser sessions: an opaque cookie that stands for an API key, and the CSRF
rules a request made with it must meet. Pure: tokens, digests, comparisons."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    """A signed-in browser. ``key_hash`` is the API key's SHA-256 (hex), so a
    revoked key ends its sessions at the next request."""

    key_hash: str
    csrf_token: str
    expires_at: float  # epoch seconds


def csrf_token_matches(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf_token, presented or "")


def same_origin(origin: str | None, host: str) -> bool:
    """A browser names the page that sent a request in Origin: it must be this
    host. A missing Origin is accepted (the CSRF token still has to match)."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc.lower() == host.lower()
