"""Who is calling: an API key as a Bearer token, or a browser session cookie.

A request with the cookie that changes state must also prove it came from this
site's own pages: the session's CSRF token in X-CSRF-Token, an Origin (when the
browser sends one) equal to this host, and no cross-site Sec-Fetch-Site.
"""

from __future__ import annotations

from sanic import Request

from shortlink.domain.api_keys import ApiKey
from shortlink.domain.errors import CsrfRejected, Unauthorized
from shortlink.domain.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    Session,
    csrf_token_matches,
    same_origin,
)

_HOW = "Send an API key as 'Authorization: Bearer <key>', or sign in at /"


async def caller(request: Request, *, anonymous_ok: bool = False) -> ApiKey | None:
    header = request.headers.get("authorization")
    if header:
        return await _bearer(request, header)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        return await _session_caller(request, session_id)
    if anonymous_ok and request.app.ctx.settings.allow_anonymous:
        return None
    raise Unauthorized(_HOW)


async def caller_required(request: Request) -> ApiKey:
    key = await caller(request)
    if key is None:  # only reachable with anonymous_ok; kept explicit, not an assert
        raise Unauthorized(_HOW)
    return key


async def current_session(request: Request) -> tuple[Session, ApiKey]:
    """The browser session behind this request's cookie (401 without one)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    resolved = await request.app.ctx.sessions.resolve(session_id) if session_id else None
    if resolved is None:
        raise Unauthorized("Not signed in, or the session ended; sign in again")
    return resolved  # type: ignore[no-any-return]


async def _bearer(request: Request, header: str) -> ApiKey:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_HOW)
    key: ApiKey | None = await request.app.ctx.api_keys.authenticate(token.strip())
    if key is None:
        raise Unauthorized("The API key is invalid or revoked")
    return key


async def _session_caller(request: Request, session_id: str) -> ApiKey:
    session, key = await current_session(request)
    if request.method not in SAFE_METHODS:
        check_csrf(request, session)
    return key


def check_same_site(request: Request) -> None:
    """The browser says a page of this very site sent the request (or says nothing)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        raise CsrfRejected("Cross-site requests can't use or start a session")
    if not same_origin(request.headers.get("origin"), request.host):
        raise CsrfRejected("The request's Origin is not this site")


def check_csrf(request: Request, session: Session) -> None:
    check_same_site(request)
    if not csrf_token_matches(session, request.headers.get(CSRF_HEADER)):
        raise CsrfRejected(
            "Send the session's csrf_token (from POST or GET /v1/sessions) as X-CSRF-Token"
        )
