"""The API app: wiring, auth'd /v1 routes, ops endpoints, request metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiohttp
from sanic.response import BaseHTTPResponse, HTTPResponse

from shortlink.adapters import clickhouse_rollups as rollups
from shortlink.adapters.clickhouse_erasure import erase_clicks
from shortlink.adapters.redis_counters import WindowCounter
from shortlink.adapters.redis_sessions import login_attempt_store, session_store
from shortlink.analytics.runner import IngestRunner
from shortlink.api import metrics
from shortlink.api.auth import guard
from shortlink.api.context import ApiApp, ApiContext, ApiRequest
from shortlink.api.erasure_routes import erasure
from shortlink.api.oidc import oidc
from shortlink.api.oidc_client import OidcClient
from shortlink.api.openapi import build_openapi
from shortlink.api.request_constraints import API_LIMITS
from shortlink.api.routes import v1
from shortlink.api.sessions import sessions
from shortlink.api.stats_routes import stats
from shortlink.api.token_review import TokenReviewer
from shortlink.api.ui.serving import load_assets, web
from shortlink.api.workspaces import workspaces
from shortlink.config import Settings
from shortlink.domain.click_erasure import ErasureRange
from shortlink.domain.rate_limits import parse_rate_limit
from shortlink.domain.sessions import sealing_key
from shortlink.domain.workspace_rollups import RollupWork
from shortlink.http.component import component_app
from shortlink.http.event_metrics import watch_events
from shortlink.http.limits import apply_limits
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.bulk_links import BulkLinkService
from shortlink.services.click_retention import ClickRetention
from shortlink.services.login_attempts import LoginAttempts
from shortlink.services.password_hashing import HASHER
from shortlink.services.rate_limiter import RateLimiter
from shortlink.services.sessions import SessionService
from shortlink.services.workspace_rollups import WorkspaceRollups
from shortlink.services.workspaces import WorkspaceService
from shortlink.wiring import audit_relay, click_store, link_service, unlock_service

log = logging.getLogger(__name__)

# Each call to the OpenID provider (discovery, keys, code exchange), at most.
OIDC_TIMEOUT_SECONDS = 10.0
# Sign-ins started per client network: each keeps an attempt in Redis for a while, so
# anyone could otherwise fill it. Far above what people signing in from one office need.
OIDC_LOGIN_RATE = parse_rate_limit("60/minute")
# Each TokenReview (a request waits for it): the API server answers in milliseconds.
KUBERNETES_TIMEOUT_SECONDS = 5.0


def create_app(settings: Settings) -> ApiApp:
    # Ready while PostgreSQL answers: every request needs it, while Redis only
    # accelerates (caches; rate limits fail open) and the bus only buffers.
    app = component_app(
        "shortlink-api",
        ApiContext(settings),
        ops_port=settings.api_ops_port,
        ready_when=lambda up: up["postgres"],
    )
    apply_limits(app, API_LIMITS, settings)
    app.ctx.openapi = build_openapi()
    app.ctx.web_assets = load_assets()
    app.blueprint(v1)
    app.blueprint(sessions)
    app.blueprint(workspaces)
    app.blueprint(stats)
    app.blueprint(erasure)
    app.blueprint(oidc)
    app.register_middleware(guard, "request")
    app.blueprint(web)

    @app.before_server_start
    async def start(app: ApiApp) -> None:
        backends = app.ctx.backends
        app.ctx.links = link_service(backends, settings)
        app.ctx.bulk_links = BulkLinkService(app.ctx.links)
        app.ctx.unlocks = unlock_service(backends, settings)
        watch_events(backends.events)
        app.ctx.api_keys = ApiKeyService(backends.api_keys, backends.workspaces)
        app.ctx.workspaces = WorkspaceService(backends.workspaces, backends.audit)
        app.ctx.audit_relay = audit_relay(backends, settings)
        app.ctx.audit_relay.start()
        app.ctx.sessions = SessionService(
            session_store(backends.redis),
            app.ctx.api_keys,
            backends.workspaces,
            settings.session_ttl,
            sealing_key(settings.secret_key),
        )
        app.ctx.login_attempts = LoginAttempts(
            login_attempt_store(backends.redis),
            sealing_key(settings.secret_key),
            settings.oidc_login_ttl,
        )
        app.ctx.oidc = _oidc_client(settings)
        app.ctx.login_limiter = RateLimiter(
            WindowCounter(backends.redis, "rate:oidc-login:"), OIDC_LOGIN_RATE
        )
        app.ctx.token_reviews = _token_reviewer(settings)
        app.ctx.rate_limiter = RateLimiter(
            WindowCounter(backends.redis, "rate:create:"), settings.rate_limit
        )
        HASHER.limit_queue(settings.bcrypt_queue)
        app.ctx.key_mint_limiter = RateLimiter(
            WindowCounter(backends.redis, "rate:mint-key:"), settings.key_mint_limit
        )
        await app.ctx.api_keys.bootstrap(settings.initial_api_key)
        await _open_analytics(app, settings)
        app.ctx.click_retention = ClickRetention(
            backends.workspaces, backends.links, lambda codes, span: _erase(app, codes, span)
        )
        app.ctx.click_retention.start()
        app.ctx.workspace_rollups = WorkspaceRollups(
            backends.links,
            lambda now: _rollups_pending(app, now),
            lambda work, owners: _roll_up(app, work, owners),
        )
        app.ctx.workspace_rollups.start()

    @app.before_server_stop
    async def stop(app: ApiApp) -> None:
        await app.ctx.audit_relay.stop()
        await app.ctx.click_retention.stop()
        await app.ctx.workspace_rollups.stop()
        if app.ctx.oidc is not None:
            await app.ctx.oidc.close()
        if app.ctx.token_reviews is not None:
            await app.ctx.token_reviews.close()
        if app.ctx.connecting is not None:
            app.ctx.connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await app.ctx.connecting
        if app.ctx.ingest is not None:
            await app.ctx.ingest.stop()
        if app.ctx.clicks is not None:
            app.ctx.clicks.close()

    @app.on_request
    async def start_timer(request: ApiRequest) -> None:
        request.ctx.started = time.perf_counter()

    async def observe(request: ApiRequest, response: BaseHTTPResponse) -> HTTPResponse | None:
        route = request.route.name.removeprefix(f"{app.name}.") if request.route else "unmatched"
        metrics.REQUESTS.labels(route, str(response.status)).inc()
        started = getattr(request.ctx, "started", None)
        if started is not None:
            metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
        return None

    app.register_middleware(observe, "response")

    return app


def _oidc_client(settings: Settings) -> OidcClient | None:
    """The OpenID provider's client, if one is configured (sign-in with SSO)."""
    if not settings.oidc_enabled:
        return None
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=OIDC_TIMEOUT_SECONDS))
    return OidcClient(
        settings.oidc_issuer, settings.oidc_client_id, settings.oidc_callback_url, http,
        client_secret=settings.oidc_client_secret,
    )  # fmt: skip


def _token_reviewer(settings: Settings) -> TokenReviewer | None:
    """The API server's TokenReview, if any ServiceAccount is given a role."""
    if not settings.service_account_roles:
        return None
    return TokenReviewer(
        settings.kubernetes_url,
        settings.kubernetes_token_file,
        settings.kubernetes_ca_file,
        settings.service_account_audience,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=KUBERNETES_TIMEOUT_SECONDS)),
    )


async def _open_analytics(app: ApiApp, settings: Settings) -> None:
    """The stats store, if configured. A remote ClickHouse that is down must not
    keep the API from starting: it is connected in the background (stats answer
    503 ANALYTICS_UNAVAILABLE meanwhile). The in-process engine (chDB) is opened
    now; with SHORTLINK_ANALYTICS_EMBEDDED the ingest loop runs beside it."""
    app.ctx.clicks = app.ctx.ingest = app.ctx.connecting = None
    if not settings.clickhouse_url:
        return
    if urlsplit(settings.clickhouse_url).scheme == "chdb":
        await _attach_store(app, settings)
    else:
        app.ctx.connecting = asyncio.create_task(_connect_in_background(app, settings))


async def _attach_store(app: ApiApp, settings: Settings) -> None:
    store = await asyncio.to_thread(click_store, settings)
    if store is None:
        return
    await store.apply_migrations()  # idempotent; the worker applies them too
    app.ctx.clicks = store
    if settings.analytics_embedded:
        app.ctx.ingest = IngestRunner(settings, store, app.ctx.backends.redis)
        app.ctx.ingest.start()


async def _connect_in_background(app: ApiApp, settings: Settings) -> None:
    backoff = 1.0
    while True:
        try:
            await _attach_store(app, settings)
            return
        except Exception as exc:
            log.warning(
                "ClickHouse unreachable; stats unavailable",
                extra={"error": repr(exc), "in": backoff},
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)


async def _rollups_pending(app: ApiApp, now: float) -> RollupWork | None:
    """The days and months the rollup sweep should roll; None without a (single-server)
    ClickHouse connected."""
    store = app.ctx.clicks
    if store is None or not rollups.rollable_store(store.cluster):
        return None
    return await asyncio.to_thread(rollups.pending, store.client, now)


async def _roll_up(app: ApiApp, work: RollupWork, owners: Sequence[tuple[str, str]]) -> None:
    if app.ctx.clicks is not None:
        await asyncio.to_thread(rollups.roll_up_work, app.ctx.clicks.client, work, owners)


async def _erase(app: ApiApp, codes: Sequence[str], span: ErasureRange) -> bool:
    """The retention sweep's erasure: False while ClickHouse is not connected."""
    if app.ctx.clicks is None:
        return False
    await erase_clicks(app.ctx.clicks, codes, span)
    return True
