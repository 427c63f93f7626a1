"""The link entity and the redirect decision (seed flows 2, 3, 5, 7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal
from urllib.parse import quote

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.link_options import NO_OPTIONS, LinkOptions, own_url
from shortlink.domain.passwords import password_fingerprint

REDIRECT_TYPES = frozenset({301, 302, 307, 308})
DEFAULT_REDIRECT_TYPE = 302  # browsers cache 301s: edits and click counts would be lost


@dataclass(frozen=True, slots=True)
class Link:
    """A stored link as the API manages it."""

    code: str
    target: str
    owner: str | None
    is_custom_alias: bool
    password_hash: str | None
    expires_at: datetime | None
    redirect_type: int
    is_active: bool
    created_at: datetime
    updated_at: datetime
    options: LinkOptions = NO_OPTIONS  # rules, variants, click limit, ... (issue 22)
    # "namespace/name" of the ShortLink that declares it: read-only through the API.
    managed_by: str | None = None


@dataclass(frozen=True, slots=True)
class NewLink:
    """A validated link about to be stored; ``code`` None means "generate one"."""

    target: str
    owner: str | None
    code: str | None = None
    password_hash: str | None = None
    expires_at: datetime | None = None
    redirect_type: int = DEFAULT_REDIRECT_TYPE
    options: LinkOptions = NO_OPTIONS


@dataclass(frozen=True, slots=True)
class Destination:
    """What the redirector needs to serve a code: small, cacheable, no secrets."""

    target: str  # with the link's UTM/query parameters merged in
    redirect_type: int
    expires_at: float | None  # epoch seconds, cheap to compare on the hot path
    password_fingerprint: str | None
    # None unless serving needs routing.evaluate: one attribute test on the hot path.
    routing: LinkOptions | None = None
    tags: tuple[str, ...] = ()  # for click analytics


# A cache's answer when it holds no entry for a code (None is a cached "unservable").
MISS: Final = object()


@dataclass(frozen=True, slots=True)
class ManagedRow:
    """A link row with its management record (deleted rows included): what the
    operator needs to decide whether it may write a code."""

    link: Link
    managed_by: str | None  # "namespace/name" of the ShortLink resource; None: an API link
    deleted: bool
    # The UID of the namespace that ShortLink lived in; None: written before it was
    # recorded (migration 0006).
    namespace_uid: str | None


def validate_redirect_type(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in REDIRECT_TYPES:
        raise InvalidRequest("redirect_type must be one of 301, 302, 307, 308", redirect_type=value)
    return value


Outcome = Literal["redirect", "expired", "password_required"]


def decide(destination: Destination, now: float, unlocked: bool) -> Outcome:
    """What serving this destination at ``now`` means. Unknown and inactive codes
    never reach here: they have no Destination."""
    if destination.expires_at is not None and destination.expires_at <= now:
        return "expired"
    if destination.password_fingerprint is not None and not unlocked:
        return "password_required"
    return "redirect"


def destination_of(link: Link) -> Destination | None:
    """The cacheable view of a link; None when it must not be served at all."""
    if not link.is_active:
        return None
    options = link.options
    return Destination(
        target=own_url(options, link.target),
        redirect_type=link.redirect_type,
        expires_at=link.expires_at.timestamp() if link.expires_at else None,
        password_fingerprint=(
            password_fingerprint(link.password_hash) if link.password_hash else None
        ),
        routing=options if options.routes else None,
        tags=options.tags,
    )


def short_url(base_url: str, code: str) -> str:
    """The public URL of a code (API responses and ShortLink status alike)."""
    return f"{base_url.rstrip('/')}/{quote(code)}"


PERMANENT_REDIRECTS = frozenset({301, 308})
NO_STORE = "no-store"


def redirect_cache_control(destination: Destination, permanent_max_age: int) -> str:
    """Cache-Control of a redirect. A protected link's redirect is for the visitor
    who unlocked it only: never stored, least of all by a shared cache. 302/307 are
    not stored either, so every click reaches us (and is counted) and edits apply at
    once. A 301/308 without Cache-Control is cached by browsers indefinitely: a
    max-age bounds how long an edit takes to reach a browser that cached it (no
    ``public``: a 301/308 is cacheable by default, RFC 9111 §4.2.2, shared caches too)."""
    if destination.password_fingerprint is not None:
        return "private, no-store"
    if destination.redirect_type in PERMANENT_REDIRECTS:
        return f"max-age={permanent_max_age}"
    return NO_STORE
