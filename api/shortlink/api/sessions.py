"""/v1/sessions: sign a browser in with an API key (an HttpOnly, SameSite=Strict
cookie plus a CSRF token for its state-changing requests), read it, sign out. People
sign in with single sign-on instead at /v1/oidc/login (api/oidc.py): same cookie."""

from __future__ import annotations

from sanic import Blueprint
from sanic.response import BaseHTTPResponse, HTTPResponse, empty

from shortlink.api.auth import check_csrf, check_same_site, current_session
from shortlink.api.context import ApiRequest
from shortlink.api.representations import Session, respond
from shortlink.api.schemas import CreateSession, parse
from shortlink.domain.sessions import SESSION_COOKIE

sessions = Blueprint("sessions", url_prefix="/v1")


def set_session_cookie(response: BaseHTTPResponse, request: ApiRequest, session_id: str) -> None:
    response.add_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="Strict",
        # TLS usually ends before us (an L4 terminator, or PROXIES_COUNT=0 hides the
        # forwarded scheme): the configured public URL says https, not this request.
        secure=secure_cookies(request),
        max_age=request.app.ctx.sessions.ttl_seconds,
    )
    response.headers["Cache-Control"] = "no-store"


def secure_cookies(request: ApiRequest) -> bool:
    return request.app.ctx.settings.secure_cookies or request.scheme == "https"


@sessions.post("/sessions", name="create_session")
async def create_session(request: ApiRequest) -> HTTPResponse:
    # No session yet to hold a CSRF token: a cross-site page must not sign a
    # browser in to someone else's account (login CSRF), so the Origin decides.
    check_same_site(request)
    body = parse(CreateSession, request.json)
    signed_in = await request.app.ctx.sessions.sign_in(body.api_key)
    response = respond(
        Session.of(signed_in.session, signed_in.principal, signed_in.key), status=201
    )
    set_session_cookie(response, request, signed_in.session_id)
    return response


@sessions.get("/sessions", name="get_session")
async def get_session(request: ApiRequest) -> HTTPResponse:
    signed_in = await current_session(request)
    return respond(
        Session.of(signed_in.session, signed_in.principal, signed_in.key),
        headers={"Cache-Control": "no-store"},
    )


@sessions.delete("/sessions", name="delete_session")
async def delete_session(request: ApiRequest) -> HTTPResponse:
    """Sign out: the session ends server-side and the cookie is cleared."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        resolved = await request.app.ctx.sessions.resolve(session_id)
        if resolved is not None:
            check_csrf(request, resolved.session)
            await request.app.ctx.sessions.sign_out(session_id)
    response = empty(status=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
