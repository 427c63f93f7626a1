"""JSON error bodies: ``{"error": CODE, "message": ..., ...details}``, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sanic import Request
from sanic.exceptions import MethodNotAllowed, NotFound, PayloadTooLarge, SanicException
from sanic.response import HTTPResponse, empty, json

from shortlink.adapters.postgres_failures import is_connection_failure
from shortlink.domain.errors import DatabaseUnavailable, DomainError
from shortlink.http import App
from shortlink.http.ops_metrics import count_unavailable

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "NOT_FOUND": 404,
    "ALIAS_TAKEN": 409,
    "NOT_PASSWORD_PROTECTED": 409,
    "URL_EXPIRED": 410,
    "INVALID_PASSWORD": 401,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "CONFLICT": 409,
    "MANAGED_BY_KUBERNETES": 409,
    "CSRF_FAILED": 403,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "TOO_MANY_ATTEMPTS": 429,
    "RATE_LIMIT_EXCEEDED": 429,
    "ANALYTICS_UNAVAILABLE": 503,
    "DATABASE_UNAVAILABLE": 503,
    "CACHE_UNAVAILABLE": 503,
    "PASSWORD_HASHING_BUSY": 503,
    "OIDC_DISABLED": 404,
    "INVALID_STATE": 403,
    "INVALID_ID_TOKEN": 401,
    "SIGN_IN_REFUSED": 401,
    "NOT_A_MEMBER": 403,
    "IDENTITY_PROVIDER_UNAVAILABLE": 503,
    "KUBERNETES_UNAVAILABLE": 503,
    "SESSIONS_UNAVAILABLE": 503,
}

# 503s counted in shortlink_unavailable_responses_total, by the dependency that was down.
_DEPENDENCY_BY_CODE = {
    "DATABASE_UNAVAILABLE": "postgres",
    "ANALYTICS_UNAVAILABLE": "clickhouse",
    "CACHE_UNAVAILABLE": "redis",
    "IDENTITY_PROVIDER_UNAVAILABLE": "oidc",
    "KUBERNETES_UNAVAILABLE": "kubernetes",
    "SESSIONS_UNAVAILABLE": "redis",
}

# Sanic's own errors (bad route, bad method, bad body) get codes clients can match on.
_FRAMEWORK_CODES = {
    400: "INVALID_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    431: "HEADERS_TOO_LARGE",
    503: "SERVICE_UNAVAILABLE",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# How much of a client's path an error message repeats: enough to spot a typo,
# never a 4 kB path echoed back whole.
ECHOED_CHARS = 64


def echoed(text: str) -> str:
    """``text`` as an error message may repeat it: cut short when long."""
    return text if len(text) <= ECHOED_CHARS else text[: ECHOED_CHARS - 1] + "…"


class Error(BaseModel):
    """An error: a stable code, a message, and the error's details as further fields."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Stable machine-readable code")
    message: str


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> HTTPResponse:
    return json({"error": code, "message": message, **details}, status=status, headers=headers)


def domain_error_response(exc: DomainError) -> HTTPResponse:
    """Details become body fields, except ``headers`` (sent as headers); a
    ``retry_after`` detail is echoed as Retry-After."""
    details = dict(exc.details)
    headers: dict[str, str] = dict(details.pop("headers", {}))
    if "retry_after" in details:
        headers["Retry-After"] = str(details["retry_after"])
    if exc.code == "UNAUTHORIZED":
        headers["WWW-Authenticate"] = "Bearer"
    status = STATUS_BY_CODE.get(exc.code, 400)
    if exc.code in _DEPENDENCY_BY_CODE:
        count_unavailable(_DEPENDENCY_BY_CODE[exc.code])
    return error_response(status, exc.code, exc.message, headers, **details)


def _allowed_methods(request: Request) -> list[str]:
    allowed = []
    for method in _METHODS:
        try:
            request.app.router.get(request.path, method, None)
        except (NotFound, MethodNotAllowed):
            continue
        allowed.append(method)
    return [*allowed, "OPTIONS"] if allowed else allowed


def install_error_handlers(app: App) -> None:
    @app.exception(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> HTTPResponse:
        return domain_error_response(exc)

    @app.exception(SanicException)
    async def on_framework_error(request: Request, exc: SanicException) -> HTTPResponse:
        status = exc.status_code
        headers = dict(exc.headers or {})
        message = str(exc.message or exc)
        if isinstance(exc, PayloadTooLarge) and message.startswith("Request header"):
            status, message = 431, "The request line and headers exceed the size limit"
        if status == 405:
            # Sanic names them only for static paths; RFC 9110 wants them on every 405.
            headers["Allow"] = ", ".join(_allowed_methods(request))
            if request.method == "OPTIONS":  # what RFC 9110 §9.3.7 suggests answering
                return empty(headers={"Allow": headers["Allow"]})
        if isinstance(exc, NotFound):
            message = f"Nothing at {echoed(request.path)}"
        code = _FRAMEWORK_CODES.get(
            status, "INTERNAL_ERROR" if status >= 500 else "INVALID_REQUEST"
        )
        return error_response(status, code, message, headers or None)

    @app.exception(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> HTTPResponse:
        if is_connection_failure(exc):
            # The safety net under the DB access layer: an outage is a 503, never a 500.
            log.warning("database unreachable", extra={"path": request.path, "error": repr(exc)})
            return domain_error_response(DatabaseUnavailable())
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side")
