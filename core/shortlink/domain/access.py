"""Who may call what: the one table of endpoint -> least role, and who is calling.

Every route of the API is in exactly one of ENDPOINT_ROLES, PUBLIC_ENDPOINTS or
INSTANCE_ADMIN_ENDPOINTS (a test enumerates the router to hold that), keyed by the
route's name. A role may call an endpoint when it is at least the endpoint's role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from shortlink.domain.api_keys import ApiKey
from shortlink.domain.errors import Forbidden, NotAMember
from shortlink.domain.workspaces import Role

ActorKind = Literal["user", "key", "service_account", "operator", "system"]

ENDPOINT_ROLES: Mapping[str, Role] = MappingProxyType(
    {
        # links
        "list_urls": Role.VIEWER,
        "get_url": Role.VIEWER,
        "url_qr": Role.VIEWER,
        "url_stats": Role.VIEWER,
        "url_realtime": Role.VIEWER,
        "workspace_stats": Role.VIEWER,  # every link of the workspace, no other's
        "workspace_realtime": Role.VIEWER,
        "preview_url": Role.EDITOR,  # a POST (writes nothing): for those who edit rules
        "alias_availability": Role.VIEWER,
        "create_url": Role.EDITOR,
        "create_urls_bulk": Role.EDITOR,
        "update_url": Role.EDITOR,
        "delete_url": Role.EDITOR,
        # the workspace itself
        "list_workspaces": Role.VIEWER,
        "get_workspace": Role.VIEWER,
        "update_workspace": Role.ADMIN,
        "list_members": Role.ADMIN,
        "put_member": Role.ADMIN,
        "delete_member": Role.ADMIN,
        "list_api_keys": Role.ADMIN,
        "create_api_key": Role.ADMIN,
        "revoke_api_key": Role.ADMIN,
        "list_audit": Role.ADMIN,
        # erasing stored clicks (privacy): what deleting links can't undo
        "erase_url_clicks": Role.ADMIN,
        "erase_workspace_clicks": Role.ADMIN,
    }
)
# Anyone: visitors unlocking a link, the API document, signing in and out.
PUBLIC_ENDPOINTS = frozenset(
    {"unlock_url", "openapi", "create_session", "get_session", "delete_session",
     "oidc_status", "oidc_login", "oidc_callback"}
)  # fmt: skip
# Instance administrators only (the initial key and keys minted as admin keys).
INSTANCE_ADMIN_ENDPOINTS = frozenset({"create_workspace"})
# With SHORTLINK_ALLOW_ANONYMOUS, these take requests without credentials too.
ANONYMOUS_ENDPOINTS = frozenset({"create_url", "create_urls_bulk"})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting in one workspace."""

    actor_kind: ActorKind
    actor: str  # "key:12", "alice@example.com", "system:serviceaccount:ns:name"
    workspace: str
    role: Role
    # Instance administrators act as owners in their own workspace, and may create
    # workspaces and manage keys of any workspace.
    instance_admin: bool = False
    key_id: int | None = None  # the API key used, if one was
    # Every workspace a person or service account may act in (by membership, group or
    # configuration); empty for a key, which has only its own.
    reachable: tuple[str, ...] = ()

    @property
    def effective_role(self) -> Role:
        return Role.OWNER if self.instance_admin else self.role


def key_principal(key: ApiKey) -> Principal:
    """A caller presenting ``key``: it acts in its workspace with its role."""
    return Principal("key", f"key:{key.id}", key.owner, key.role, key.is_admin, key.id)


def person_roles(
    memberships: Iterable[tuple[str, Role]], group_roles: Mapping[str, Role]
) -> dict[str, Role]:
    """workspace -> a person's role there: the higher of their membership's and the
    one their groups gave at sign-in."""
    roles = dict(group_roles)
    for workspace, role in memberships:
        roles[workspace] = max(role, roles.get(workspace, role))
    return roles


def person_principal(
    subject: str, roles: Mapping[str, Role], wanted: str | None, kind: ActorKind = "user"
) -> Principal:
    """A signed-in person (or a service account, ``kind``) acting in ``wanted``
    (X-Shortlink-Workspace), or else in the first of their workspaces by slug.
    NotAMember if they have a role in none (any more), Forbidden if not in ``wanted``."""
    if not roles:
        raise NotAMember(f"{subject} has a role in no workspace here; ask a workspace admin")
    workspace = min(roles) if wanted is None else wanted
    if workspace not in roles:
        raise Forbidden(f"You are not a member of workspace '{workspace}'", required="member")
    return Principal(kind, subject, workspace, roles[workspace], reachable=tuple(sorted(roles)))


def permits(role: Role, endpoint: str) -> bool:
    """The table's cell (role, endpoint). An endpoint not in the table is a bug."""
    return role >= ENDPOINT_ROLES[endpoint]


def authorize(principal: Principal, endpoint: str) -> None:
    """Forbidden (403) unless ``principal`` may call ``endpoint``."""
    if endpoint in PUBLIC_ENDPOINTS:
        return
    if endpoint in INSTANCE_ADMIN_ENDPOINTS:
        if not principal.instance_admin:
            raise Forbidden("Only instance administrators may do this", required="instance_admin")
        return
    if not permits(principal.effective_role, endpoint):
        required = ENDPOINT_ROLES[endpoint]
        raise Forbidden(
            f"This needs the {required.label} role in workspace '{principal.workspace}'; "
            f"you are {principal.effective_role.label}",
            required=required.label,
            role=principal.effective_role.label,
        )
