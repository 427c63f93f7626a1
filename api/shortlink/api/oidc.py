"""/v1/oidc: people sign in to the web UI at the OpenID provider (authorization code +
PKCE). The login redirects there, having kept the attempt's nonce and verifier
server-side under its ``state``, and bound that state to this browser with a short-lived
cookie; the callback takes the attempt once, exchanges the code, verifies the ID token
(api/oidc_client.py) and signs the person in with the same session cookie as an API key
sign-in. Every refusal is a JSON error and signs nobody in."""

from __future__ import annotations

import hmac
import re

from sanic import Blueprint
from sanic.request.parameters import RequestParameters
from sanic.response import HTTPResponse, redirect

from shortlink.api.context import ApiRequest
from shortlink.api.oidc_client import OidcClient
from shortlink.api.rate_limits import spend
from shortlink.api.representations import OidcStatus, respond
from shortlink.api.sessions import secure_cookies, set_session_cookie
from shortlink.domain.errors import InvalidLoginState, InvalidRequest, OidcDisabled, SignInRefused
from shortlink.domain.oidc import person_of, roles_from_groups
from shortlink.domain.text import is_storable

oidc = Blueprint("oidc", url_prefix="/v1")

LOGIN_PATH = "/v1/oidc/login"
CALLBACK_PATH = "/v1/oidc/callback"
# Holds the state of the sign-in this browser started; sent back only to the callback.
# Lax, not Strict: the callback is a navigation from the provider's site.
STATE_COOKIE = "shortlink_oidc_state"
AFTER_SIGN_IN = "/#/links"
_MAX_PARAMETER = 2048
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _client(request: ApiRequest) -> OidcClient:
    client = request.app.ctx.oidc
    if client is None:
        raise OidcDisabled("Single sign-on is not configured here (SHORTLINK_OIDC_ISSUER)")
    return client


def _parameter(args: RequestParameters, name: str) -> str | None:
    values: list[str] = args.getlist(name, [])
    if not values:
        return None
    if len(values) > 1 or len(values[0]) > _MAX_PARAMETER or not is_storable(values[0]):
        raise InvalidRequest(f"'{name}' must be given once, as printable text", field=name)
    return values[0]


@oidc.get("/oidc", name="oidc_status")
async def oidc_status(request: ApiRequest) -> HTTPResponse:
    enabled = request.app.ctx.oidc is not None
    return respond(OidcStatus(enabled=enabled, login_url=LOGIN_PATH if enabled else None))


@oidc.get("/oidc/login", name="oidc_login")
async def oidc_login(request: ApiRequest) -> HTTPResponse:
    client = _client(request)
    await client.metadata()  # an unreachable provider: 503 before anything is kept
    await spend(request, request.app.ctx.login_limiter, None, 1, "sign-ins")
    attempts = request.app.ctx.login_attempts
    attempt = await attempts.begin()
    url = await client.authorization_url(attempt, request.app.ctx.settings.oidc_scopes)
    response = redirect(url, status=302)
    response.add_cookie(
        STATE_COOKIE, attempt.state, path=CALLBACK_PATH, httponly=True, samesite="Lax",
        secure=secure_cookies(request), max_age=attempts.ttl_seconds,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@oidc.get("/oidc/callback", name="oidc_callback")
async def oidc_callback(request: ApiRequest) -> HTTPResponse:
    client = _client(request)
    args = request.get_args(keep_blank_values=True)
    state = _parameter(args, "state")
    started_here = request.cookies.get(STATE_COOKIE)
    if state is None or started_here is None or not hmac.compare_digest(state, started_here):
        # Not this browser's sign-in: someone else's callback URL, sent to sign this
        # browser in as them (login CSRF).
        raise InvalidLoginState(
            "This sign-in was not started in this browser; start it again", reason="browser"
        )
    attempt = await request.app.ctx.login_attempts.take(state)  # once, even if it fails
    error = _parameter(args, "error")
    if error is not None:
        raise SignInRefused(
            "The identity provider did not sign you in",
            provider_error=error if _ERROR_CODE.fullmatch(error) else "invalid",
        )
    code = _parameter(args, "code")
    if code is None:
        raise InvalidRequest("The callback carries no code", field="code")
    claims = await client.exchange(code, attempt)
    settings = request.app.ctx.settings
    signed_in = await request.app.ctx.sessions.sign_in_person(
        person_of(claims),
        roles_from_groups(claims.get(settings.oidc_roles_claim), settings.oidc_group_roles),
    )
    response = redirect(AFTER_SIGN_IN, status=303)
    set_session_cookie(response, request, signed_in.session_id)
    response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    return response
