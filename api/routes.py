"""/v1 handlers. Each: authenticate, parse, call one service method, render."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from shortlink.api import metrics
from shortlink.api.representations import api_key_json, link_json, stats_json
from shortlink.api.schemas import BulkCreate, CreateApiKey, CreateUrl, Unlock, UpdateUrl, parse
from shortlink.domain.api_keys import ApiKey
from shortlink.domain.errors import AnalyticsUnavailable, DomainError, RateLimited, Unauthorized
from shortlink.domain.expiry import format_instant
from shortlink.domain.links import short_url
from shortlink.domain.rate_limits import RateDecision
from shortlink.domain.stats_request import parse_stats_request
from shortlink.domain.unlock_tokens import UNLOCK_TOKEN_TTL
from shortlink.http import client_ip
from shortlink.services.links import CreateLink

log = logging.getLogger(__name__)

v1 = Blueprint("v1", url_prefix="/v1")


async def _caller(request: Request, *, anonymous_ok: bool = False) -> ApiKey | None:
    header = request.headers.get("authorization")
    if not header:
        if anonymous_ok and request.app.ctx.settings.allow_anonymous:
            return None
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    key: ApiKey | None = await request.app.ctx.api_keys.authenticate(token.strip())
    if key is None:
        raise Unauthorized("The API key is invalid or revoked")
    return key


async def _caller_required(request: Request) -> ApiKey:
    key = await _caller(request)
    if key is None:  # only reachable with anonymous_ok; kept explicit, not an assert
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'")
    return key


async def _rate_limit(request: Request, caller: ApiKey | None) -> dict[str, str]:
    """Count this create against its subject; returns the RateLimit headers."""
    limiter = request.app.ctx.rate_limiter
    subject = f"key:{caller.id}" if caller else f"ip:{client_ip(request)}"
    decision: RateDecision = await limiter.check(subject)
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        raise RateLimited(
            limiter.rule.describe("URLs"),
            retry_after=decision.retry_after,
            rate_limit={
                "limit": decision.limit,
                "remaining": decision.remaining,
                "reset_at": format_instant(decision.reset_at),
            },
            headers=decision.headers(),
        )
    return decision.headers()


def _create_request(body: CreateUrl) -> CreateLink:
    return CreateLink(
        original_url=body.original_url,
        custom_alias=body.custom_alias,
        expires_at=body.expires_at,
        password=body.password,
        redirect_type=body.redirect_type,
    )


@v1.post("/urls", name="create_url")
async def create_url(request: Request) -> HTTPResponse:
    caller = await _caller(request, anonymous_ok=True)
    headers = await _rate_limit(request, caller)
    body = parse(CreateUrl, request.json)
    link = await request.app.ctx.links.create(
        caller.owner if caller else None, _create_request(body)
    )
    metrics.LINKS_CREATED.labels("alias" if link.is_custom_alias else "generated").inc()
    base = request.app.ctx.settings.base_url
    headers["Location"] = f"/v1/urls/{link.code}"
    return json(link_json(link, base), status=201, headers=headers)


@v1.post("/urls/bulk", name="create_urls_bulk")
async def create_urls_bulk(request: Request) -> HTTPResponse:
    caller = await _caller(request, anonymous_ok=True)
    headers = await _rate_limit(request, caller)
    body = parse(BulkCreate, request.json)
    results = await request.app.ctx.links.create_bulk(
        caller.owner if caller else None, [_create_request(item) for item in body.urls]
    )
    base = request.app.ctx.settings.base_url
    rendered: list[dict[str, Any]] = []
    for result in results:
        if result.link is not None:
            rendered.append({"index": result.index, **link_json(result.link, base)})
        else:
            assert result.error is not None
            rendered.append(
                {
                    "index": result.index,
                    "error": result.error.code,
                    "message": result.error.message,
                    "suggestions": result.error.details.get("suggestions", []),
                }
            )
    created = sum(1 for r in results if r.link is not None)
    metrics.LINKS_CREATED.labels("bulk").inc(created)
    return json(
        {"created": created, "failed": len(results) - created, "results": rendered},
        status=201,
        headers=headers,
    )


@v1.get("/urls", name="list_urls")
async def list_urls(request: Request) -> HTTPResponse:
    caller = await _caller_required(request)
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        limit = 0  # rejected with a clear message by the service
    page = await request.app.ctx.links.list(caller.owner, limit, request.args.get("cursor"))
    base = request.app.ctx.settings.base_url
    return json(
        {"items": [link_json(link, base) for link in page.links], "next_cursor": page.next_cursor}
    )


@v1.get("/urls/<code:str>", name="get_url")
async def get_url(request: Request, code: str) -> HTTPResponse:
    caller = await _caller_required(request)
    link = await request.app.ctx.links.get(caller.owner, code)
    return json(link_json(link, request.app.ctx.settings.base_url))


@v1.patch("/urls/<code:str>", name="update_url")
async def update_url(request: Request, code: str) -> HTTPResponse:
    caller = await _caller_required(request)
    body = parse(UpdateUrl, request.json)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    link = await request.app.ctx.links.update(caller.owner, code, changes)
    return json(link_json(link, request.app.ctx.settings.base_url))


@v1.delete("/urls/<code:str>", name="delete_url")
async def delete_url(request: Request, code: str) -> HTTPResponse:
    caller = await _caller_required(request)
    await request.app.ctx.links.delete(caller.owner, code)
    return empty(status=204)


@v1.get("/urls/<code:str>/stats", name="url_stats")
async def url_stats(request: Request, code: str) -> HTTPResponse:
    """Owner-only click stats (seed flow 4), answered from ClickHouse's aggregates."""
    caller = await _caller_required(request)
    link = await request.app.ctx.links.get(caller.owner, code)  # 404 unless the caller's
    query = parse_stats_request(
        {name: request.args.get(name, "") for name in ("from", "to", "interval")},
        datetime.now(UTC),
    )
    store = request.app.ctx.clicks
    if store is None:
        if request.app.ctx.settings.clickhouse_url:
            raise AnalyticsUnavailable("ClickHouse is not reachable yet; try again shortly")
        raise AnalyticsUnavailable("Click analytics is not configured (CLICKHOUSE_URL)")
    try:
        stats = await store.stats(link.code, query.start, query.end, query.interval)
    except DomainError:
        raise
    except Exception as exc:
        log.error("stats query failed", extra={"code": code, "error": repr(exc)})
        raise AnalyticsUnavailable("Click analytics did not answer; try again shortly") from None
    return json(stats_json(stats))


@v1.post("/urls/<code:str>/unlock", name="unlock_url")
async def unlock_url(request: Request, code: str) -> HTTPResponse:
    """Public: trade the password for a 1-hour unlock token (seed flow 5)."""
    body = parse(Unlock, request.json)
    try:
        unlocked = await request.app.ctx.links.unlock(code, body.password, client_ip(request))
    except DomainError as exc:
        metrics.UNLOCKS.labels(exc.code.lower()).inc()
        raise
    metrics.UNLOCKS.labels("ok").inc()
    base = request.app.ctx.settings.base_url
    return json(
        {
            "unlock_token": unlocked.token,
            "redirect_url": f"{short_url(base, code)}?unlock_token={unlocked.token}",
            "original_url": unlocked.link.target,
            "expires_in": int(UNLOCK_TOKEN_TTL.total_seconds()),
        }
    )


@v1.get("/api-keys", name="list_api_keys")
async def list_api_keys(request: Request) -> HTTPResponse:
    caller = await _caller_required(request)
    keys = await request.app.ctx.api_keys.list(caller)
    return json({"items": [api_key_json(k) for k in keys]})


@v1.post("/api-keys", name="create_api_key")
async def create_api_key(request: Request) -> HTTPResponse:
    caller = await _caller_required(request)
    body = parse(CreateApiKey, request.json)
    secret, record = await request.app.ctx.api_keys.create(
        caller, body.name, body.owner, body.is_admin
    )
    return json({"key": secret, **api_key_json(record)}, status=201)


@v1.delete("/api-keys/<key_id:int>", name="revoke_api_key")
async def revoke_api_key(request: Request, key_id: int) -> HTTPResponse:
    caller = await _caller_required(request)
    record = await request.app.ctx.api_keys.revoke(caller, key_id)
    return json(api_key_json(record))


@v1.get("/openapi.json", name="openapi")
async def openapi(request: Request) -> HTTPResponse:
    return json(request.app.ctx.openapi)
