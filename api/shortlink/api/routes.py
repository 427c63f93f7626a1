"""/v1 handlers. Each: authenticate, parse, call one service method, render."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from sanic import Blueprint
from sanic.response import HTTPResponse, empty, json, raw

from shortlink.api import metrics
from shortlink.api.auth import principal_of
from shortlink.api.context import ApiRequest
from shortlink.api.qr_codes import FORMATS, parse_qr_request, render_qr
from shortlink.api.rate_limits import spend as _spend
from shortlink.api.representations import (
    AliasAvailability,
    ApiKeyList,
    BulkCheck,
    BulkResult,
    Link,
    LinkPage,
    NewApiKey,
    Preview,
    RevokedApiKey,
    Unlocked,
    respond,
)
from shortlink.api.representations import (
    ApiKey as ApiKeyBody,
)
from shortlink.api.schemas import (
    BulkCreate,
    CreateApiKey,
    CreateUrl,
    PreviewVisitor,
    Unlock,
    UpdateUrl,
    parse,
)
from shortlink.domain.access import Principal
from shortlink.domain.analytics import ClickSummary
from shortlink.domain.errors import DomainError, InvalidRequest
from shortlink.domain.idempotency import HEADER, REPLAYED_HEADER, fingerprint, validate_key
from shortlink.domain.link_listing import parse_link_filter
from shortlink.domain.link_options import OPTION_FIELDS
from shortlink.domain.links import short_url
from shortlink.domain.workspaces import Role
from shortlink.http import client_ip
from shortlink.services.bulk_links import bulk_passwords
from shortlink.services.links import CreateLink

log = logging.getLogger(__name__)

v1 = Blueprint("v1", url_prefix="/v1")


async def _rate_limit(
    request: ApiRequest, principal: Principal | None, cost: int = 1
) -> dict[str, str]:
    """Count this create (``cost`` creates) against its subject: the workspace (so
    minting more keys buys no more), or an anonymous caller's address; returns the
    RateLimit headers."""
    return await _spend(request, request.app.ctx.rate_limiter, principal, cost, "URLs")


def _create_request(body: CreateUrl) -> CreateLink:
    return CreateLink(
        original_url=body.original_url,
        custom_alias=body.custom_alias,
        expires_at=body.expires_at,
        password=body.password,
        redirect_type=body.redirect_type,
        options={name: getattr(body, name) for name in OPTION_FIELDS},
    )


@v1.post("/urls", name="create_url")
async def create_url(request: ApiRequest) -> HTTPResponse:
    key: Principal | None = request.ctx.principal
    headers = await _rate_limit(request, key)
    body = parse(CreateUrl, request.json)
    base = request.app.ctx.settings.base_url
    idempotency_key = request.headers.get(HEADER)
    if idempotency_key is not None:
        stored, replayed = await request.app.ctx.links.create_once(
            _idempotency_owner(key),
            validate_key(idempotency_key),
            fingerprint(request.json),
            _create_request(body),
            lambda link: Link.of(link, base).as_json(),
        )
        headers["Location"] = f"/v1/urls/{stored.body['short_code']}"
        if replayed:
            headers[REPLAYED_HEADER] = "true"
        else:
            metrics.LINKS_CREATED.labels(
                "alias" if stored.body["is_custom_alias"] else "generated"
            ).inc()
        return json(stored.body, status=stored.status, headers=headers)
    link = await request.app.ctx.links.create(key.workspace if key else None, _create_request(body))
    metrics.LINKS_CREATED.labels("alias" if link.is_custom_alias else "generated").inc()
    headers["Location"] = f"/v1/urls/{link.code}"
    return respond(Link.of(link, base), status=201, headers=headers)


def _flag(request: ApiRequest, name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise InvalidRequest(f"{name} must be true or false")
    return value in {"true", "1"}


@v1.post("/urls/bulk", name="create_urls_bulk")
async def create_urls_bulk(request: ApiRequest) -> HTTPResponse:
    """Up to 1000 links in one transaction; ?dry_run=true only checks them."""
    key: Principal | None = request.ctx.principal
    body = parse(BulkCreate, request.json)
    owner = key.workspace if key else None
    items = [_create_request(item) for item in body.urls]
    # One, plus one per password: a bcrypt hash costs as much CPU as a whole request.
    headers = await _rate_limit(request, key, 1 + bulk_passwords(items))
    idempotency_key = request.headers.get(HEADER)
    if idempotency_key is not None:
        validate_key(idempotency_key)  # refused even with dry_run, which ignores it
    if _flag(request, "dry_run"):
        count = await request.app.ctx.bulk_links.check(owner, items)
        return respond(BulkCheck(valid=True, count=count), headers=headers)
    base = request.app.ctx.settings.base_url
    if idempotency_key is not None:
        stored, replayed = await request.app.ctx.bulk_links.create_once(
            _idempotency_owner(key),
            validate_key(idempotency_key),
            fingerprint(request.json),
            items,
            lambda results: BulkResult.of(results, base).as_json(),
        )
        if replayed:
            headers[REPLAYED_HEADER] = "true"
        else:
            metrics.LINKS_CREATED.labels("bulk").inc(stored.body["created"])
        return json(stored.body, status=stored.status, headers=headers)
    results = await request.app.ctx.bulk_links.create(owner, items)
    rendered = BulkResult.of(results, base)
    metrics.LINKS_CREATED.labels("bulk").inc(rendered.created)
    return respond(rendered, status=201, headers=headers)


def _idempotency_owner(key: Principal | None) -> str:
    if key is None:
        raise InvalidRequest(f"{HEADER} needs an API key: keys are kept per workspace")
    return key.workspace


_CANONICAL_INTEGER = re.compile(r"0|[1-9][0-9]{0,8}")


@v1.get("/urls", name="list_urls")
async def list_urls(request: ApiRequest) -> HTTPResponse:
    key = principal_of(request)
    # Blank values kept: "status=" or "cursor=" is refused, not taken as absent.
    args = request.get_args(keep_blank_values=True)
    # An integer as the document writes one: int() would take " 5", "+5", "5_0" or a fullwidth 5.
    raw_limit: str = args.get("limit") or ("" if "limit" in args else "20")
    limit = int(raw_limit) if _CANONICAL_INTEGER.fullmatch(raw_limit) else 0  # 0: refused
    query = parse_link_filter(
        args.get("q"), args.get("status"), args.get("sort"), args.get("tag"), args.get("folder")
    )
    include = args.get("include")
    if include not in (None, "clicks"):
        raise InvalidRequest("include must be clicks", include=include)
    page = await request.app.ctx.links.list(key.workspace, limit, args.get("cursor"), query)
    base = request.app.ctx.settings.base_url
    clicks = None
    if include == "clicks":
        clicks = await _click_summaries(request, [link.code for link in page.links])
    return respond(LinkPage.of(page, base, clicks))


async def _click_summaries(request: ApiRequest, codes: list[str]) -> dict[str, ClickSummary] | None:
    """Each listed link's clicks, in one ClickHouse query; None while analytics is
    unavailable (the list itself must not fail for it)."""
    store = request.app.ctx.clicks
    if store is None:
        return None
    try:
        summaries: dict[str, ClickSummary] = await store.click_summaries(
            codes, datetime.now(UTC).date()
        )
    except Exception as exc:
        log.warning("click summaries failed", extra={"error": repr(exc)})
        return None
    return summaries


@v1.get("/urls/<code:str>", name="get_url")
async def get_url(request: ApiRequest, code: str) -> HTTPResponse:
    key = principal_of(request)
    link = await request.app.ctx.links.get(key.workspace, code)
    return respond(Link.of(link, request.app.ctx.settings.base_url))


@v1.patch("/urls/<code:str>", name="update_url")
async def update_url(request: ApiRequest, code: str) -> HTTPResponse:
    key = principal_of(request)
    body = parse(UpdateUrl, request.json)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("password") is not None:  # a bcrypt hash: counted like a create
        await _rate_limit(request, key)
    link = await request.app.ctx.links.update(key.workspace, code, changes)
    return respond(Link.of(link, request.app.ctx.settings.base_url))


@v1.delete("/urls/<code:str>", name="delete_url")
async def delete_url(request: ApiRequest, code: str) -> HTTPResponse:
    key = principal_of(request)
    await request.app.ctx.links.delete(key.workspace, code)
    return empty(status=204)


@v1.get("/urls/<code:str>/qr", name="url_qr")
async def url_qr(request: ApiRequest, code: str) -> HTTPResponse:
    """The short URL of one of your links as a QR code image."""
    key = principal_of(request)
    kind, size = parse_qr_request(request.args.get("format"), request.args.get("size"))
    link = await request.app.ctx.links.get(key.workspace, code)
    image = render_qr(short_url(request.app.ctx.settings.base_url, link.code), kind, size)
    return raw(
        image,
        content_type=FORMATS[kind],
        headers={
            "Content-Disposition": f'inline; filename="{link.code}.{kind}"',
            "Cache-Control": "private, max-age=300",
        },
    )


@v1.get("/aliases/<alias:str>", name="alias_availability")
async def alias_availability(request: ApiRequest, alias: str) -> HTTPResponse:
    """Whether a custom alias is free right now, with free suggestions if not."""
    available, suggestions = await request.app.ctx.links.alias_availability(alias)
    return respond(AliasAvailability(alias=alias, available=available, suggestions=suggestions))


@v1.post("/urls/<code:str>/preview", name="preview_url")
async def preview_url(request: ApiRequest, code: str) -> HTTPResponse:
    """Owner-only: what one of your links would answer a visitor you describe."""
    key = principal_of(request)
    body = parse(PreviewVisitor, request.json or {})
    salt = request.app.ctx.settings.secret_key.encode()  # the redirector's A/B key
    _, decision = await request.app.ctx.links.preview(
        key.workspace, code, body.model_dump(exclude_none=True), salt
    )
    return respond(Preview.of(decision))


@v1.post("/urls/<code:str>/unlock", name="unlock_url")
async def unlock_url(request: ApiRequest, code: str) -> HTTPResponse:
    """Public: trade the password for a 1-hour unlock token (seed flow 5)."""
    body = parse(Unlock, request.json)
    try:
        unlocked = await request.app.ctx.unlocks.unlock(code, body.password, client_ip(request))
    except DomainError as exc:
        metrics.UNLOCKS.labels(exc.code.lower()).inc()
        raise
    metrics.UNLOCKS.labels("ok").inc()
    return respond(Unlocked.of(unlocked, code, request.app.ctx.settings.base_url))


@v1.get("/api-keys", name="list_api_keys")
async def list_api_keys(request: ApiRequest) -> HTTPResponse:
    key = principal_of(request)
    keys = await request.app.ctx.api_keys.list(key)
    return respond(ApiKeyList.of(keys))


@v1.post("/api-keys", name="create_api_key")
async def create_api_key(request: ApiRequest) -> HTTPResponse:
    key = principal_of(request)
    body = parse(CreateApiKey, request.json)
    headers = {}
    if not key.instance_admin:  # rotation is free up to a point; admins answer for themselves
        headers = await _spend(request, request.app.ctx.key_mint_limiter, key, 1, "API keys")
    role = Role.parse(body.role) if body.role is not None else None
    secret, record = await request.app.ctx.api_keys.create(
        key, body.name, body.owner, body.is_admin, role
    )
    return respond(
        NewApiKey(key=secret, **ApiKeyBody.fields_of(record)), status=201, headers=headers
    )


@v1.delete("/api-keys/<key_id:int>", name="revoke_api_key")
async def revoke_api_key(request: ApiRequest, key_id: int) -> HTTPResponse:
    key = principal_of(request)
    revoked, *minted = await request.app.ctx.api_keys.revoke(key, key_id)
    return respond(
        RevokedApiKey(also_revoked=[k.id for k in minted], **ApiKeyBody.fields_of(revoked))
    )


@v1.get("/openapi.json", name="openapi")
async def openapi(request: ApiRequest) -> HTTPResponse:
    return json(request.app.ctx.openapi)
