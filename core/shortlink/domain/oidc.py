"""OpenID Connect sign-in, the pure part: PKCE, state and nonce, and what a verified ID
token's claims must say: who the person is (a verified e-mail address, as members are
named) and which workspace roles their groups give them (SHORTLINK_OIDC_GROUP_ROLES)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shortlink.domain.errors import DomainError, InvalidIdToken
from shortlink.domain.workspaces import Role, validate_slug, validate_subject


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What one sign-in keeps between the redirect to the provider and its callback:
    ``state`` ties the callback to this browser (used once), ``nonce`` the ID token to
    this attempt, ``verifier`` the code to this client (PKCE, S256)."""

    state: str
    nonce: str
    verifier: str

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)

    def record(self) -> dict[str, Any]:
        """What is kept server-side, under the state's digest (see state_digest)."""
        return {"nonce": self.nonce, "verifier": self.verifier}

    @classmethod
    def from_record(cls, state: str, record: Mapping[str, Any]) -> LoginAttempt | None:
        nonce, verifier = record.get("nonce"), record.get("verifier")
        if not (isinstance(nonce, str) and isinstance(verifier, str)):
            return None
        return cls(state, nonce, verifier)


def new_attempt() -> LoginAttempt:
    return LoginAttempt(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                        secrets.token_urlsafe(64))  # fmt: skip


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def state_digest(state: str) -> str:
    """What the attempt is stored under: the state itself travels in URLs."""
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class GroupRole:
    """Members of ``group`` (a value of the roles claim) get ``role`` in ``workspace``."""

    group: str
    workspace: str
    role: Role


def parse_group_roles(spec: str) -> tuple[GroupRole, ...]:
    """SHORTLINK_OIDC_GROUP_ROLES: comma-separated ``group=workspace:role`` items
    (the last '=' splits, so a group name may hold one). ValueError names a bad item."""
    rules = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        group, equals, target = item.rpartition("=")
        workspace, colon, role = target.partition(":")
        if not (equals and group.strip() and colon):
            raise ValueError(f"{item!r} is not group=workspace:role")
        try:
            rules.append(GroupRole(group.strip(), validate_slug(workspace), Role.parse(role)))
        except DomainError as exc:
            raise ValueError(f"{item!r}: {exc.message}") from None
    return tuple(rules)


def roles_from_groups(groups: object, rules: tuple[GroupRole, ...]) -> dict[str, Role]:
    """workspace -> the highest role the person's groups give there. The claim may be
    one string or a list of them; anything else gives nothing."""
    if isinstance(groups, str):
        names = {groups}
    elif isinstance(groups, list):
        names = {group for group in groups if isinstance(group, str)}
    else:
        names = set()
    roles: dict[str, Role] = {}
    for rule in rules:
        if rule.group in names and rule.role > roles.get(rule.workspace, 0):
            roles[rule.workspace] = rule.role
    return roles


def person_of(claims: Mapping[str, Any]) -> str:
    """The member name of the person a verified ID token is about: their e-mail address,
    lower-case. One the provider says is not verified is refused: anyone could claim it."""
    if claims.get("email_verified") is False:
        raise InvalidIdToken("The provider has not verified this e-mail address")
    try:
        return validate_subject(claims.get("email"))
    except DomainError:
        raise InvalidIdToken(
            "The ID token has no e-mail address (ask for the 'email' scope)"
        ) from None
