"""Pure decisions: the link a ShortLink declares, whether the operator may write it,
which code it gets, the status it reports, and how long to wait before a retry.

No I/O here. Every rule about links comes from ``shortlink.domain``, the same
functions the API calls, so a ShortLink and an API request can't disagree on
what a valid code, target, expiry or redirect type is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shortlink.domain.aliases import validate_alias
from shortlink.domain.errors import DomainError, InvalidLinkOption
from shortlink.domain.expiry import format_instant, parse_expiry
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import NO_OPTIONS, LinkOptions
from shortlink.domain.links import (
    DEFAULT_REDIRECT_TYPE,
    MISS,
    Destination,
    Link,
    ManagedRow,
    NewLink,
    destination_of,
    validate_redirect_type,
)
from shortlink.domain.urls import UrlPolicy, validate_target_url
from shortlink.operator.conditions import Condition, find_condition
from shortlink.operator.links.spec_options import options_document, spec_path
from shortlink.operator.resource import WORKSPACE_LABEL

# A declared expiry may already be past (the link then answers 410 Gone), so only its
# format is checked: against the dawn of time instead of "now" as the API does.
_DAWN = datetime.min.replace(tzinfo=UTC)
DEFAULT_SECRET_KEY = "password"

READY = "Ready"
SYNCED = "Synced"


class InvalidSpec(Exception):
    """The spec breaks a rule; retrying can't help until the spec changes."""


@dataclass(frozen=True, slots=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True, slots=True)
class Desired:
    """A ShortLink's spec, validated."""

    code: str | None
    target: str
    expires_at: datetime | None
    redirect_type: int
    active: bool
    password_ref: SecretRef | None
    options: LinkOptions = NO_OPTIONS  # rules, variants, click limit, ... (issue 22)

    def new_link(self, password_hash: str | None, workspace: str | None) -> NewLink:
        """``workspace``: the slug its namespace is labelled with (None: in none)."""
        return NewLink(
            target=self.target,
            owner=workspace,
            code=self.code,
            password_hash=password_hash,
            expires_at=self.expires_at,
            redirect_type=self.redirect_type,
            options=self.options,
        )


def _field(path: str, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except DomainError as exc:
        raise InvalidSpec(f"{path}: {exc.message}") from None


def desired_link(spec: Mapping[str, Any], policy: UrlPolicy) -> Desired:
    """Validate a spec with the domain's rules; InvalidSpec names the field."""
    code = spec.get("code")
    if code is not None and not isinstance(code, str):
        raise InvalidSpec("spec.code: must be a string")
    target = spec.get("target")
    if target is None:
        raise InvalidSpec("spec.target: is required")
    active = spec.get("active", True)
    if not isinstance(active, bool):
        raise InvalidSpec("spec.active: must be true or false")
    expires_at = _field(
        "spec.expiresAt", lambda value: parse_expiry(value, _DAWN), spec.get("expiresAt")
    )
    try:
        options = parse_link_options(options_document(spec), policy, expires_at=expires_at)
    except InvalidLinkOption as exc:
        path = spec_path(exc.details["field"])
        raise InvalidSpec(f"{path}: {exc.message.partition(': ')[2]}") from None
    return Desired(
        code=_field("spec.code", validate_alias, code) if code is not None else None,
        target=_field("spec.target", lambda url: validate_target_url(url, policy), target),
        expires_at=expires_at,
        redirect_type=_field(
            "spec.redirectType",
            validate_redirect_type,
            spec.get("redirectType", DEFAULT_REDIRECT_TYPE),
        ),
        active=active,
        password_ref=_secret_ref(spec.get("passwordSecretRef")),
        options=options,
    )


def _secret_ref(raw: object) -> SecretRef | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidSpec("spec.passwordSecretRef: must be an object with name and key")
    name, key = raw.get("name"), raw.get("key", DEFAULT_SECRET_KEY)
    if not isinstance(name, str) or not name:
        raise InvalidSpec("spec.passwordSecretRef.name: must be a non-empty string")
    if not isinstance(key, str) or not key:
        raise InvalidSpec("spec.passwordSecretRef.key: must be a non-empty string")
    return SecretRef(name, key)


def password_digest(password: str) -> str:
    """Recognises an unchanged Secret without a bcrypt check (~50 ms each)."""
    return hashlib.sha256(password.encode()).hexdigest()


# -- codes and ownership ------------------------------------------------------------


class ImmutableCode(InvalidSpec):
    """spec.code names another code than the one this resource already serves."""


def choose_code(
    spec_code: str | None, owned: tuple[str, bool] | None, remembered: str | None = None
) -> str | None:
    """The code to write: the spec's; else the one this resource already owns (its
    last row, live or deleted: a re-created resource gets its code back); else the one
    it was last served under (from memory or status.code, when its row vanished); else
    None for "generate one". ``owned`` is (code, live)."""
    if spec_code is not None:
        if owned is not None and owned[1] and owned[0] != spec_code:
            raise ImmutableCode(
                f"spec.code: this ShortLink already serves the code '{owned[0]}'; "
                "codes are immutable, create a new ShortLink for another code"
            )
        return spec_code
    if owned is not None:
        return owned[0]
    return remembered or None


WriteAction = Literal["insert", "update", "unchanged", "conflict"]


def matches(link: Link, wanted: NewLink, active: bool) -> bool:
    return (
        link.target == wanted.target
        and link.owner == wanted.owner
        and link.password_hash == wanted.password_hash
        and link.expires_at == wanted.expires_at
        and link.redirect_type == wanted.redirect_type
        and link.options == wanted.options
        and link.is_active == active
    )


def owns(row: ManagedRow, manager: str, namespace_uid: str) -> bool:
    """Whether the ShortLink ``manager`` ("namespace/name"), living in the namespace
    whose UID is ``namespace_uid``, may write ``row``: the row names it, and was
    written in that same namespace. A namespace deleted and re-created under the same
    name has another UID, so its ShortLinks never inherit the old one's codes (else
    anyone allowed to create namespaces could take them over). A row without a
    namespace UID (from before they were recorded) belongs to the first live
    ShortLink of that name, which records its namespace's UID."""
    return row.managed_by == manager and row.namespace_uid in (None, namespace_uid)


def plan_write(
    existing: ManagedRow | None,
    manager: str,
    namespace_uid: str,
    wanted: NewLink,
    active: bool,
) -> WriteAction:
    """What writing ``wanted`` under its code means. A code held by anyone else (an
    API link, another ShortLink, one of the same name in an earlier namespace of that
    name; deleted or not) is never taken over. A row without a namespace UID is
    rewritten, which adopts it."""
    if existing is None:
        return "insert"
    if not owns(existing, manager, namespace_uid):
        return "conflict"
    if (
        existing.deleted
        or existing.namespace_uid is None
        or not matches(existing.link, wanted, active)
    ):
        return "update"
    return "unchanged"


def cache_is_current(link: Link, entry: Destination | object | None) -> bool:
    """Whether a cache entry (Destination, None for "negative", or MISS) serves ``link``
    as stored. A servable link wants its exact Destination (a missing entry counts as
    drift, and is re-warmed); an unservable one wants none."""
    expected = destination_of(link)
    if expected is None:
        return entry is MISS or entry is None
    return entry == expected


def conflict_message(code: str, holder: ManagedRow) -> str:
    """What status and Events (readable by every tenant of the namespace) say: never
    which ShortLink, namespace or owner holds the code."""
    whose = "a link created through the API" if holder.managed_by is None else "another ShortLink"
    gone = " (deleted; codes are never reused)" if holder.deleted else ""
    return (
        f"The code '{code}' is already used by {whose}{gone}; it is left untouched. "
        "Delete this ShortLink and declare another code."
    )


def unknown_workspace(slug: str) -> str:
    """Its own namespace's label: the namespace's tenants may read what it names."""
    return (
        f"The namespace is labelled {WORKSPACE_LABEL}: {slug}, but there is no such "
        "workspace; nothing is written until it exists (or the label changes)"
    )


# -- status -----------------------------------------------------------------------


def ready(short_url: str, expires_at: datetime | None, change: str) -> list[Condition]:
    served = f"Served at {short_url}"
    if expires_at is not None:
        served += f" until {format_instant(expires_at)}"
    return [
        Condition(READY, "True", "Synced", served),
        Condition(SYNCED, "True", "Synced", f"Link {change} in PostgreSQL and Redis"),
    ]


def inactive(short_url: str, change: str) -> list[Condition]:
    return [
        Condition(READY, "True", "Inactive", f"{short_url} is reserved; spec.active is false"),
        Condition(SYNCED, "True", "Synced", f"Link {change} in PostgreSQL and Redis"),
    ]


def blocked(reason: str, message: str) -> list[Condition]:
    """A failure retrying can't fix: both conditions False."""
    return [Condition(READY, "False", reason, message), Condition(SYNCED, "False", reason, message)]


def retrying(
    reason: str, message: str, previous: Sequence[Mapping[str, Any]], generation: int
) -> list[Condition]:
    """A transient failure: Synced says why; Ready stays True only if it already
    described this generation (the link is served as declared, say from the cache)."""
    before = find_condition(previous, READY)
    still_ready = (
        before is not None
        and before.get("status") == "True"
        and before.get("observedGeneration") == generation
    )
    ready_now = (
        Condition(READY, "True", str(before.get("reason", "Synced")), str(before.get("message")))
        if still_ready and before is not None
        else Condition(READY, "False", reason, message)
    )
    return [ready_now, Condition(SYNCED, "False", reason, message)]


# -- retries ------------------------------------------------------------------------


def retry_delay(retry: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff for transient failures: 1, 2, 4, ... seconds, at most ``cap``."""
    return float(min(cap, base * 2 ** min(retry, 30)))
