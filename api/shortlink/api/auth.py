"""Who is calling, and may they: an API key as a Bearer token, or a browser session
cookie, resolved to a Principal and checked against the endpoint table
(``shortlink.domain.access``) before any handler runs.

A request with the cookie that changes state must also prove it came from this
site's own pages: the session's CSRF token in X-CSRF-Token, an Origin (when the
browser sends one) equal to this host, and no cross-site Sec-Fetch-Site.
"""

from __future__ import annotations

import logging

from shortlink.adapters.audit import audit_context
from shortlink.api.context import ApiRequest
from shortlink.domain.access import (
    ANONYMOUS_ENDPOINTS,
    ENDPOINT_ROLES,
    INSTANCE_ADMIN_ENDPOINTS,
    PUBLIC_ENDPOINTS,
    Principal,
    authorize,
    key_principal,
    person_principal,
)
from shortlink.domain.api_keys import ApiKey
from shortlink.domain.audit import AuditContext
from shortlink.domain.errors import CsrfRejected, Forbidden, Unauthorized
from shortlink.domain.service_accounts import is_jwt, service_account_roles
from shortlink.domain.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Session,
    csrf_token_matches,
    same_origin,
)
from shortlink.domain.text import is_storable
from shortlink.domain.workspaces import Role, validate_slug
from shortlink.http import client_ip
from shortlink.services.sessions import SignedIn

log = logging.getLogger(__name__)

# The blueprints whose every route is in the endpoint table.
GUARDED_BLUEPRINTS = frozenset({"v1", "sessions", "workspaces", "oidc", "stats", "erasure"})
_MAX_REQUEST_ID = 128

_HOW = "Send an API key as 'Authorization: Bearer <key>', or sign in at /"
# Which of a signed-in person's workspaces a request acts in (default: their first).
WORKSPACE_HEADER = "x-shortlink-workspace"


def endpoint_of(request: ApiRequest) -> str | None:
    """The endpoint table's name for this request's route; None outside the API."""
    if request.route is None:
        return None
    _, blueprint, name = [*request.route.name.split("."), "", ""][:3]
    return name if blueprint in GUARDED_BLUEPRINTS else None


async def guard(request: ApiRequest) -> None:
    """Request middleware: authenticate, authorize against the endpoint table, and
    put who is calling in ``request.ctx.principal`` (None: anonymous) and in the
    audit context of whatever the request writes. A denied admin action is logged."""
    request.ctx.principal = None
    audit_context.set(None)  # a keep-alive connection's requests share one task
    endpoint = endpoint_of(request)
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return
    if endpoint not in ENDPOINT_ROLES and endpoint not in INSTANCE_ADMIN_ENDPOINTS:
        raise RuntimeError(f"route {endpoint!r} is in no row of the endpoint table")
    principal = await caller(request, anonymous_ok=endpoint in ANONYMOUS_ENDPOINTS)
    if principal is None:
        return
    context = request_context(request, principal)
    try:
        authorize(principal, endpoint)
    except Forbidden:
        if endpoint in INSTANCE_ADMIN_ENDPOINTS or ENDPOINT_ROLES[endpoint] >= Role.ADMIN:
            await request.app.ctx.backends.audit.record_denied(
                principal.workspace, context, endpoint, "endpoint", request.path[:512]
            )
        raise
    request.ctx.principal = principal
    audit_context.set(context)


def request_context(request: ApiRequest, principal: Principal) -> AuditContext:
    request_id = str(request.id)[:_MAX_REQUEST_ID]
    user_agent = request.headers.get("user-agent")
    return AuditContext(
        principal.actor_kind,
        principal.actor,
        client_ip(request),
        user_agent if user_agent and is_storable(user_agent) else None,
        request_id if is_storable(request_id) else None,
    )


def principal_of(request: ApiRequest) -> Principal:
    """The authenticated caller ``guard`` admitted (handlers of non-anonymous routes)."""
    principal: Principal | None = request.ctx.principal
    if principal is None:  # only on anonymous routes; kept explicit, not an assert
        raise Unauthorized(_HOW)
    return principal


async def caller(request: ApiRequest, *, anonymous_ok: bool = False) -> Principal | None:
    header = request.headers.get("authorization")
    if header:
        principal = await _bearer(request, header)
    elif session_id := request.cookies.get(SESSION_COOKIE):
        principal = await _session_caller(request, session_id)
    elif anonymous_ok and request.app.ctx.settings.allow_anonymous:
        return None
    else:
        raise Unauthorized(_HOW)
    wanted = requested_workspace(request)
    if wanted is not None and wanted != principal.workspace:
        raise Forbidden(
            f"This key acts in workspace '{principal.workspace}' only", required="member"
        )
    return principal


def requested_workspace(request: ApiRequest) -> str | None:
    """The workspace a person's session is to act in (X-Shortlink-Workspace); a key
    acts in its own, and naming another is refused."""
    wanted = request.headers.get(WORKSPACE_HEADER)
    return None if wanted is None else validate_slug(wanted)


async def current_session(request: ApiRequest) -> SignedIn:
    """The browser session behind this request's cookie (401 without one)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    resolved = (
        await request.app.ctx.sessions.resolve(session_id, requested_workspace(request))
        if session_id
        else None
    )
    if resolved is None:
        raise Unauthorized("Not signed in, or the session ended; sign in again")
    return resolved


async def _bearer(request: ApiRequest, header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_HOW)
    if request.app.ctx.token_reviews is not None and is_jwt(token.strip()):
        return await _service_account(request, token.strip())
    key: ApiKey | None = await request.app.ctx.api_keys.authenticate(token.strip())
    if key is None:
        raise Unauthorized("The API key is invalid or revoked")
    return key_principal(key)


async def _service_account(request: ApiRequest, token: str) -> Principal:
    """A Kubernetes ServiceAccount's token, reviewed by the API server, acting with the
    role SHORTLINK_SERVICE_ACCOUNT_ROLES gives it (403 NOT_A_MEMBER: none)."""
    reviewer = request.app.ctx.token_reviews
    assert reviewer is not None  # only called when ServiceAccount access is on
    username = await reviewer.username(token)
    if username is None:
        raise Unauthorized(
            "The Kubernetes API server does not accept this token for the audience "
            f"'{reviewer.audience}' (expired, another audience, or its account is gone)"
        )
    roles = service_account_roles(username, request.app.ctx.settings.service_account_roles)
    return person_principal(username, roles, requested_workspace(request), "service_account")


async def _session_caller(request: ApiRequest, session_id: str) -> Principal:
    signed_in = await current_session(request)
    if request.method not in SAFE_METHODS:
        check_csrf(request, signed_in.session)
    return signed_in.principal


def check_same_site(request: ApiRequest) -> None:
    """The browser says a page of this very site sent the request (or says nothing)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise CsrfRejected("Cross-site requests can't use or start a session")
    if not same_origin(request.headers.get("origin"), request.host):
        raise CsrfRejected("The request's Origin is not this site")


def check_csrf(request: ApiRequest, session: Session) -> None:
    check_same_site(request)
    if not csrf_token_matches(session, request.headers.get(CSRF_HEADER)):
        raise CsrfRejected(
            "Send the session's csrf_token (from POST or GET /v1/sessions) as X-CSRF-Token"
        )
