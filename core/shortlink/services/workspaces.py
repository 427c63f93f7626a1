"""Workspace use cases: which ones a caller reaches, their settings, their members,
and reading their audit log."""

from __future__ import annotations

from collections.abc import Mapping

from shortlink.adapters.audit import AuditRepository
from shortlink.adapters.workspaces import LastOwner, WorkspaceRepository
from shortlink.domain.access import Principal
from shortlink.domain.audit import AuditEntry, parse_audit_filter
from shortlink.domain.click_erasure import validate_click_retention
from shortlink.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from shortlink.domain.workspaces import (
    Member,
    Role,
    Workspace,
    validate_name,
    validate_retention,
    validate_slug,
    validate_subject,
)


class WorkspaceService:
    def __init__(self, repo: WorkspaceRepository, audit: AuditRepository) -> None:
        self._repo = repo
        self._audit = audit

    async def reachable(self, caller: Principal) -> list[Workspace]:
        """The workspaces the caller can act in: an instance administrator, all; a
        key, its own; a person or service account, those their roles are in."""
        if caller.instance_admin:
            return await self._repo.find(None)
        return await self._repo.find(caller.reachable or [caller.workspace])

    async def current(self, caller: Principal) -> Workspace:
        workspace = await self._repo.get(caller.workspace)
        if workspace is None:  # deleted under a live session
            raise NotFound(f"No workspace '{caller.workspace}'")
        return workspace

    async def create(self, slug: object, name: object) -> Workspace:
        created = await self._repo.create(validate_slug(slug), validate_name(name))
        if created is None:
            raise Conflict(f"The workspace '{slug}' exists already", workspace=slug)
        return created

    async def update(self, caller: Principal, changes: Mapping[str, object]) -> Workspace:
        if not changes:
            raise InvalidRequest("Nothing to update")
        name = validate_name(changes["name"]) if "name" in changes else None
        retention = (
            validate_retention(changes["audit_retention_days"])
            if "audit_retention_days" in changes
            else None
        )
        if retention is not None and caller.effective_role < Role.OWNER:
            # Shortening it deletes history: the owners' call.
            raise Forbidden("Only owners may change the audit retention", required="owner")
        clicks = (
            validate_click_retention(changes["click_retention_days"])
            if changes.get("click_retention_days") is not None  # null: unchanged
            else None
        )
        if clicks is not None and caller.effective_role < Role.OWNER:
            raise Forbidden("Only owners may change the click retention", required="owner")
        updated = await self._repo.update(caller.workspace, name, retention, clicks)
        if updated is None:
            raise NotFound(f"No workspace '{caller.workspace}'")
        return updated

    async def members(self, caller: Principal) -> list[Member]:
        return await self._repo.members(caller.workspace)

    async def put_member(self, caller: Principal, subject: object, role: object) -> Member:
        """Add a member or change their role. Nobody grants more than their own role,
        and only owners change (or make) owners."""
        who, granted = validate_subject(subject), Role.parse(role)
        _require_at_least(caller, granted)
        existing = {m.subject: m for m in await self._repo.members(caller.workspace)}
        if who in existing:
            _require_at_least(caller, existing[who].role)
        try:
            _, after = await self._repo.put_member(caller.workspace, who, granted)
        except LastOwner:
            raise Conflict(
                "A workspace with members needs an owner: make another member owner first"
            ) from None
        return after

    async def remove_member(self, caller: Principal, subject: object) -> Member:
        who = validate_subject(subject)
        existing = {m.subject: m for m in await self._repo.members(caller.workspace)}
        if who not in existing:
            raise NotFound(f"'{who}' is not a member of '{caller.workspace}'")
        _require_at_least(caller, existing[who].role)
        try:
            removed = await self._repo.remove_member(caller.workspace, who)
        except LastOwner:
            raise Conflict(
                "A workspace with members needs an owner: make another member owner first"
            ) from None
        if removed is None:  # removed meanwhile by someone else
            raise NotFound(f"'{who}' is not a member of '{caller.workspace}'")
        return removed

    async def audit_log(
        self, caller: Principal, args: Mapping[str, list[str]]
    ) -> tuple[list[AuditEntry], str | None]:
        """One page of the workspace's log, newest first, and the next page's cursor."""
        query = parse_audit_filter(args)
        entries = await self._audit.find(caller.workspace, query, limit=query.limit + 1)
        more = len(entries) > query.limit
        entries = entries[: query.limit]
        return entries, (str(entries[-1].id) if more else None)


def _require_at_least(caller: Principal, role: Role) -> None:
    if role > caller.effective_role:
        raise Forbidden(
            f"Only {role.label}s may grant, change or remove the {role.label} role",
            required=role.label,
        )
