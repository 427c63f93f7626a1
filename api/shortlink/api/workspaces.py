"""/v1/workspaces and /v1/workspace: the workspaces a caller reaches, the current
one's settings and members, and its audit log."""

from __future__ import annotations

from urllib.parse import unquote

from sanic import Blueprint
from sanic.response import HTTPResponse, empty

from shortlink.api.auth import principal_of
from shortlink.api.context import ApiRequest
from shortlink.api.representations import (
    AuditPage,
    CurrentWorkspace,
    Member,
    MemberList,
    Workspace,
    WorkspaceList,
    respond,
)
from shortlink.api.schemas import CreateWorkspace, PutMember, UpdateWorkspace, parse

workspaces = Blueprint("workspaces", url_prefix="/v1")


@workspaces.get("/workspaces", name="list_workspaces")
async def list_workspaces(request: ApiRequest) -> HTTPResponse:
    found = await request.app.ctx.workspaces.reachable(principal_of(request))
    return respond(WorkspaceList.of(found))


@workspaces.post("/workspaces", name="create_workspace")
async def create_workspace(request: ApiRequest) -> HTTPResponse:
    body = parse(CreateWorkspace, request.json)
    created = await request.app.ctx.workspaces.create(body.slug, body.name)
    return respond(Workspace.of(created), status=201)


@workspaces.get("/workspace", name="get_workspace")
async def get_workspace(request: ApiRequest) -> HTTPResponse:
    principal = principal_of(request)
    current = await request.app.ctx.workspaces.current(principal)
    return respond(
        CurrentWorkspace(**Workspace.fields_of(current), role=principal.effective_role.label)
    )


@workspaces.patch("/workspace", name="update_workspace")
async def update_workspace(request: ApiRequest) -> HTTPResponse:
    body = parse(UpdateWorkspace, request.json)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    updated = await request.app.ctx.workspaces.update(principal_of(request), changes)
    return respond(Workspace.of(updated))


@workspaces.get("/workspace/members", name="list_members")
async def list_members(request: ApiRequest) -> HTTPResponse:
    members = await request.app.ctx.workspaces.members(principal_of(request))
    return respond(MemberList.of(members))


# Path parameters arrive percent-encoded ("a%40b.example"): decoded once here.
@workspaces.put("/workspace/members/<member:str>", name="put_member")
async def put_member(request: ApiRequest, member: str) -> HTTPResponse:
    body = parse(PutMember, request.json)
    stored = await request.app.ctx.workspaces.put_member(
        principal_of(request), unquote(member), body.role
    )
    return respond(Member.of(stored))


@workspaces.delete("/workspace/members/<member:str>", name="delete_member")
async def delete_member(request: ApiRequest, member: str) -> HTTPResponse:
    await request.app.ctx.workspaces.remove_member(principal_of(request), unquote(member))
    return empty(status=204)


@workspaces.get("/workspace/audit", name="list_audit")
async def list_audit(request: ApiRequest) -> HTTPResponse:
    """The workspace's audit log, newest first; filters and cursor as query parameters."""
    args = request.get_args(keep_blank_values=True)
    entries, next_cursor = await request.app.ctx.workspaces.audit_log(
        principal_of(request), dict(args)
    )
    return respond(AuditPage.of(entries, next_cursor), headers={"Cache-Control": "no-store"})
