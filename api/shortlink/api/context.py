"""The API's ``app.ctx``: every attribute typed (see shortlink.http.context)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeAlias

from sanic import Request, Sanic

from shortlink.adapters.clickhouse import ClickStore
from shortlink.analytics.runner import IngestRunner
from shortlink.http.context import ComponentContext
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.audit_relay import AuditRelay
from shortlink.services.bulk_links import BulkLinkService
from shortlink.services.click_retention import ClickRetention
from shortlink.services.links import LinkService
from shortlink.services.login_attempts import LoginAttempts
from shortlink.services.rate_limiter import RateLimiter
from shortlink.services.sessions import SessionService
from shortlink.services.unlocks import UnlockService
from shortlink.services.workspace_rollups import WorkspaceRollups
from shortlink.services.workspaces import WorkspaceService

if TYPE_CHECKING:  # serving's handlers take ApiRequest
    from shortlink.api.oidc_client import OidcClient
    from shortlink.api.token_review import TokenReviewer
    from shortlink.api.ui.serving import WebAssets


class ApiContext(ComponentContext):
    openapi: dict[str, Any]
    web_assets: WebAssets
    # Set at server start:
    links: LinkService
    bulk_links: BulkLinkService
    unlocks: UnlockService
    api_keys: ApiKeyService
    workspaces: WorkspaceService
    audit_relay: AuditRelay  # publishes the audit log on the bus
    sessions: SessionService
    login_attempts: LoginAttempts  # OpenID sign-ins under way
    login_limiter: RateLimiter  # sign-ins started, per client network
    oidc: OidcClient | None  # None: single sign-on is off
    token_reviews: TokenReviewer | None  # None: no ServiceAccount access
    rate_limiter: RateLimiter
    key_mint_limiter: RateLimiter
    # Click stats: the store once connected (None: not configured or not yet), the
    # background connect to a remote ClickHouse, the embedded ingest loop.
    clicks: ClickStore | None
    connecting: asyncio.Task[None] | None
    ingest: IngestRunner | None
    click_retention: ClickRetention  # erases clicks past each workspace's retention
    workspace_rollups: WorkspaceRollups  # rolls closed days up per workspace


ApiApp: TypeAlias = Sanic[Any, ApiContext]
ApiRequest: TypeAlias = Request[ApiApp, SimpleNamespace]
