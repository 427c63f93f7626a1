"""The redirector app: GET/HEAD /<code> → 302 (or 404/410/403), POST /<code> → unlock form."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from datetime import UTC, datetime
from typing import cast
from urllib.parse import quote

from sanic import Request
from sanic.response import HTTPResponse

from shortlink.adapters.geoip import GeoIP
from shortlink.adapters.local_cache import LocalCache
from shortlink.adapters.redis_budget import ClickBudgets
from shortlink.adapters.redis_cache import InvalidationListener
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.config import Settings
from shortlink.domain.aliases import could_be_code
from shortlink.domain.clicks import (
    MAX_REFERRER_CHARS,
    MAX_USER_AGENT_CHARS,
    ClickEvent,
    ClickSink,
    header_text,
)
from shortlink.domain.errors import DatabaseUnavailable, DomainError
from shortlink.domain.events import DiscardEvents
from shortlink.domain.expiry import format_instant
from shortlink.domain.links import MISS, NO_STORE, Destination, decide
from shortlink.domain.query_merge import pass_visitor_query
from shortlink.domain.routing import Decision, evaluate, exhausted
from shortlink.domain.unlock_tokens import (
    LINK,
    UNLOCK_TOKEN_TTL,
    issue_unlock_token,
    unlock_token_valid,
)
from shortlink.domain.visitors import is_human_click
from shortlink.http import client_ip
from shortlink.http.component import component_app
from shortlink.http.errors import domain_error_response, echoed, error_response
from shortlink.http.event_metrics import watch_events
from shortlink.http.forwarded import ClientAddress, client_address, peer_address
from shortlink.http.limits import Limits, apply_limits
from shortlink.http.ops_metrics import count_unavailable
from shortlink.redirector import metrics, pages
from shortlink.redirector.context import RedirectorApp, RedirectorContext
from shortlink.redirector.edge_visitor import EdgeFacts, EdgeVisitor
from shortlink.redirector.responses import (
    BodilessResponse,
    encode_headers,
    redirect_headers_cache,
    routed_headers_cache,
)
from shortlink.services.click_limits import ClickLimiter
from shortlink.services.resolver import LinkResolver
from shortlink.services.unlocks import UnlockService
from shortlink.wiring import redis_client, standby_reads, unlock_service

UNLOCK_COOKIE = "unlock_token"
BUDGET_REDIS_TIMEOUT = 2.0  # seconds


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _negotiated(response: HTTPResponse) -> HTTPResponse:
    """An answer chosen as HTML or JSON by Accept says so (caches key on it) and is
    never stored: the link behind it may exist, be extended or unlocked a moment later."""
    response.headers["Vary"] = "Accept"
    response.headers.setdefault("Cache-Control", NO_STORE)
    return response


class Redirects:
    """The request handlers, holding what they need as plain attributes (no
    per-request lookups through app.ctx on the hot path). Routes are registered
    at build time; the connections behind them are attached at server start."""

    _resolver: LinkResolver
    _sink: ClickSink
    _unlocks: UnlockService
    _limiter: ClickLimiter
    _edge_facts: EdgeFacts

    def __init__(
        self,
        secret_key: str,
        client_address: ClientAddress = peer_address,
        *,
        secure_cookies: bool = False,
        permanent_max_age: int = 3600,
        public_origin: str = "",
        cached_links: int = 100_000,
    ) -> None:
        self._public_origin = public_origin
        self._secret_key = secret_key
        self._secure_cookies = secure_cookies
        self._redirect_headers = redirect_headers_cache(permanent_max_age, cached_links)
        self._routed_headers = routed_headers_cache(cached_links)
        self._agents = UserAgentParser()
        self._salt = secret_key.encode()  # keys the A/B buckets, as analytics' visitor ids
        # The visitor's address (X-Forwarded-For behind trusted proxies, else the peer),
        # worked out once per request.
        self._client_ip = client_address
        # Unique event ids without a syscall per click: random per process (16 hex
        # digits, so prefix and count never run together), counted within in decimal.
        self._event_prefix = os.urandom(8).hex()
        self._event_serial = itertools.count()

    def attach(
        self,
        resolver: LinkResolver,
        sink: ClickSink,
        unlocks: UnlockService,
        limiter: ClickLimiter,
        geoip: GeoIP,
    ) -> None:
        self._resolver = resolver
        self._sink = sink
        self._unlocks = unlocks
        self._limiter = limiter
        self._edge_facts = EdgeFacts(geoip, self._agents)

    async def redirect(self, request: Request, code: str) -> HTTPResponse:
        started = time.perf_counter()
        found = self._resolver.cached(code)
        if found is not MISS:
            destination, source = cast(Destination | None, found), "local"
        elif not could_be_code(code):
            destination, source = None, "local"  # can't exist: don't let it touch the caches
        else:
            try:
                destination, source = await self._resolver.resolve(code)
            except DatabaseUnavailable as exc:
                metrics.TALLY.redirect("unavailable", "db", time.perf_counter() - started)
                return _negotiated(self._unavailable(request, exc))
        if destination is None:
            outcome, response = "not_found", self._not_found(request, code)
        elif destination.routing is not None:
            try:
                outcome, response = await self._routed(request, code, destination)
            except DatabaseUnavailable as exc:  # a click budget that PostgreSQL must extend
                metrics.TALLY.redirect("unavailable", source, time.perf_counter() - started)
                return _negotiated(self._unavailable(request, exc))
        else:
            by_cookie = self._unlocked(request, code, destination)
            by_link = not by_cookie and self._unlocked_by_link(request, code, destination)
            outcome = decide(destination, time.time(), by_cookie or by_link)
            if outcome == "redirect" and by_link and _wants_html(request):
                # A browser trades the URL's token for the cookie, and reloads without it.
                response = self._with_unlock_cookie(request, code, destination)
            elif outcome == "redirect":
                response = BodilessResponse(
                    destination.redirect_type, self._redirect_headers(destination)
                )
                self._record_click(request, code, self._client_ip(request), None, destination.tags)
            elif outcome == "expired":
                response = self._expired(request, destination)
            else:
                response = self._password_required(request, code)
        metrics.TALLY.redirect(outcome, source, time.perf_counter() - started)
        return response if outcome == "redirect" else _negotiated(response)

    async def root(self, request: Request) -> HTTPResponse:
        """``/`` holds no link: say what the addresses served here look like."""
        return _negotiated(self._not_found(request, ""))

    async def _routed(
        self, request: Request, code: str, destination: Destination
    ) -> tuple[str, HTTPResponse]:
        """A link with options: the one evaluator decides (docs/link-rules.md), then a
        limited link's budget is spent by human GETs only (bots, previews and HEAD are
        served while clicks are left, and spend none)."""
        options = destination.routing
        assert options is not None
        by_cookie = self._unlocked(request, code, destination)
        by_link = not by_cookie and self._unlocked_by_link(request, code, destination)
        client = self._client_ip(request)
        visitor = EdgeVisitor(request, code, client, self._edge_facts, self._salt)
        decision = evaluate(
            options,
            destination.target,
            destination.redirect_type,
            destination.expires_at,
            visitor,
            time.time(),
            by_cookie or by_link,
        )
        if decision.outcome == "password_required":
            return decision.outcome, self._password_required(request, code)
        if decision.outcome == "redirect" and by_link and _wants_html(request):
            return "redirect", self._with_unlock_cookie(request, code, destination)
        if decision.outcome == "redirect" and options.max_clicks is not None:
            limit = options.max_clicks
            human = is_human_click(request.method, visitor.is_bot)
            if human:
                served = await self._limiter.spend(code, limit)
            else:
                served = await self._limiter.has_left(code, limit)
            if not served:
                decision = exhausted(options)
        if decision.target is None:
            return decision.outcome, self._unavailable_state(request, code, decision, destination)
        target = decision.target
        if decision.outcome == "redirect":
            if options.pass_query and request.query_string:
                target = pass_visitor_query(target, request.query_string)
            self._record_click(request, code, client, decision, destination.tags)
        return decision.outcome, BodilessResponse(
            decision.redirect_type, self._routed_headers(target)
        )

    def _unavailable_state(
        self, request: Request, code: str, decision: Decision, destination: Destination
    ) -> HTTPResponse:
        """Today's pages for a link without a fallback for its state."""
        if decision.outcome == "expired":
            return self._expired(request, destination)
        if decision.outcome == "not_yet":
            return self._not_found(request, code)  # as if it didn't exist yet
        if _wants_html(request):
            return pages.respond(pages.limit_reached_page(), status=410)
        return error_response(410, "CLICK_LIMIT_REACHED", "This link has been used up")

    def _record_click(
        self,
        request: Request,
        code: str,
        client: str,
        decision: Decision | None = None,
        tags: tuple[str, ...] = (),
    ) -> None:
        headers = request.headers
        # Positional, in ClickEvent's field order: matching ten keywords cost 0.34 µs a
        # click (0.54 against 0.21), near a tenth of a plain link's handler.
        # test_redirect_clicks holds each field to what the request said.
        self._sink.emit(
            ClickEvent(
                f"{self._event_prefix}{next(self._event_serial)}",  # event_id
                code,
                time.time(),  # timestamp
                client,  # ip
                header_text(headers.get("user-agent", ""), MAX_USER_AGENT_CHARS),
                header_text(headers.get("referer", ""), MAX_REFERRER_CHARS),
                request.method,
                decision.rule_id if decision else "",
                decision.variant_id if decision else "",
                tags,
            )
        )

    def _unlocked(self, request: Request, code: str, destination: Destination) -> bool:
        """No password, or the per-link cookie holds a session token for it."""
        fingerprint = destination.password_fingerprint
        if fingerprint is None:
            return True
        token = request.cookies.get(UNLOCK_COOKIE)
        if not token:
            return False
        return unlock_token_valid(token, code, fingerprint, self._secret_key, datetime.now(UTC))

    def _unlocked_by_link(self, request: Request, code: str, destination: Destination) -> bool:
        """``?unlock_token=`` holds a link token (60 s) for it; a session token in a
        URL is refused, so one copied out of a log or a shared link is worthless."""
        token = request.args.get("unlock_token")
        fingerprint = destination.password_fingerprint
        if not token or fingerprint is None:
            return False
        now = datetime.now(UTC)
        return unlock_token_valid(token, code, fingerprint, self._secret_key, now, kind=LINK)

    def _with_unlock_cookie(
        self, request: Request, code: str, destination: Destination
    ) -> HTTPResponse:
        assert destination.password_fingerprint is not None
        token = issue_unlock_token(
            code, destination.password_fingerprint, self._secret_key, datetime.now(UTC)
        )
        response = _see_the_link(code)
        self._set_unlock_cookie(response, code, token)
        return response

    def _same_site(self, request: Request) -> bool:
        """Browsers send Origin (and Sec-Fetch-Site) with every form POST; a client
        that sends neither is no browser another site could drive."""
        origin = request.headers.get("origin")
        if origin is not None and origin != self._public_origin:
            return False
        return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}

    def _set_unlock_cookie(self, response: HTTPResponse, code: str, token: str) -> None:
        response.add_cookie(
            UNLOCK_COOKIE,
            token,
            path=f"/{quote(code)}",
            max_age=int(UNLOCK_TOKEN_TTL.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=self._secure_cookies,
        )

    @staticmethod
    def _not_found(request: Request, code: str) -> HTTPResponse:
        if _wants_html(request):
            return pages.respond(pages.not_found_page(echoed(code)), status=404)
        if not code:
            return error_response(404, "NOT_FOUND", "No link here: short links look like /<code>")
        return error_response(404, "NOT_FOUND", f"No link with code '{echoed(code)}'")

    @staticmethod
    def _unavailable(request: Request, exc: DatabaseUnavailable) -> HTTPResponse:
        """A code no cache holds while PostgreSQL is down: try again shortly."""
        count_unavailable("postgres")
        retry_after = str(exc.details["retry_after"])
        if _wants_html(request):
            return pages.respond(pages.unavailable_page(), 503, {"Retry-After": retry_after})
        return error_response(
            503,
            exc.code,
            "This link can't be looked up right now; try again shortly",
            {"Retry-After": retry_after},
            retry_after=exc.details["retry_after"],
        )

    @staticmethod
    def _expired(request: Request, destination: Destination) -> HTTPResponse:
        assert destination.expires_at is not None
        moment = datetime.fromtimestamp(destination.expires_at, UTC)
        if _wants_html(request):
            return pages.respond(pages.expired_page(moment.date().isoformat()), status=410)
        return error_response(
            410,
            "URL_EXPIRED",
            f"This link expired on {moment.date().isoformat()}",
            expired_at=format_instant(moment),
        )

    @staticmethod
    def _password_required(request: Request, code: str, error: str | None = None) -> HTTPResponse:
        if _wants_html(request):
            return pages.respond(pages.password_page(code, error), status=403)
        return error_response(
            403,
            "PASSWORD_REQUIRED",
            "This link is password-protected",
            action={"method": "POST", "endpoint": f"/v1/urls/{quote(code)}/unlock"},
        )

    async def unlock_form(self, request: Request, code: str) -> HTTPResponse:
        """The HTML password form posts here: same rules as the API's unlock.

        Only from our own pages: another site's form posting here would make its
        visitors' browsers guess passwords for it, from their addresses."""
        if not self._same_site(request):
            return pages.respond(
                pages.password_page(code, "This form must be sent from this site."), status=403
            )
        password = request.form.get("password") if request.form else None
        if not password:
            return pages.respond(pages.password_page(code, "Enter the password."), status=400)
        try:
            unlocked = await self._unlocks.unlock(code, password, client_ip(request))
        except DomainError as exc:
            if exc.code == "INVALID_PASSWORD":
                left = exc.details.get("attempts_remaining", 0)
                return pages.respond(
                    pages.password_page(code, f"Wrong password. {left} attempts left."), status=401
                )
            if exc.code == "TOO_MANY_ATTEMPTS":
                response = pages.respond(
                    pages.password_page(code, "Too many wrong passwords. Try again later."),
                    status=429,
                )
                response.headers["Retry-After"] = str(exc.details["retry_after"])
                return response
            if exc.code == "NOT_FOUND":
                return pages.respond(pages.not_found_page(code), status=404)
            if exc.code == "PASSWORD_HASHING_BUSY":
                retry_after = {"Retry-After": str(exc.details["retry_after"])}
                return pages.respond(pages.unavailable_page(), 503, retry_after)
            return domain_error_response(exc)
        response = _see_the_link(code)
        self._set_unlock_cookie(response, code, unlocked.token)
        return response


def _see_the_link(code: str) -> HTTPResponse:
    """303 back to the link itself, once unlocked (its cookie is added next)."""
    return BodilessResponse(
        303, encode_headers({"Location": f"/{quote(code)}", "Cache-Control": NO_STORE})
    )


def count_redirect_failures(app: RedirectorApp) -> None:
    """A redirect that raised is answered by the app's generic handlers (500, or 503
    for a lost connection) and must still reach ``shortlink_redirects_total``, or the
    availability SLO never sees it. A handler for the redirect route only: the
    error path pays for it, the hot path doesn't."""
    errors = app.error_handler

    async def on_redirect_error(request: Request, exc: Exception) -> HTTPResponse:
        generic = errors.lookup(exc, None)
        response = cast(HTTPResponse, await generic(request, exc))
        metrics.TALLY.failure(response.status)
        return response

    errors.add(Exception, on_redirect_error, route_names=[f"{app.name}.redirect"])


def create_app(settings: Settings) -> RedirectorApp:
    # Ready while some tier can answer: Redis holds every link served recently,
    # PostgreSQL all of them; only both down leaves nothing but the L1 cache.
    app = component_app(
        "shortlink-redirector",
        RedirectorContext(settings),
        ops_port=settings.redirector_ops_port,
        ready_when=lambda up: up["postgres"] or up["redis"],
    )
    # The only body it takes is the password form (at most 72 bytes of password);
    # not below the header limit, which Sanic caps at the body limit.
    apply_limits(app, Limits(body_bytes=8192), settings)

    handlers = Redirects(
        settings.secret_key,
        # Without trusted proxies the peer address is the client: no X-Forwarded-* read.
        client_address(app.config) if settings.proxies_count > 0 else peer_address,
        secure_cookies=settings.secure_cookies,
        permanent_max_age=settings.permanent_redirect_max_age,
        public_origin=settings.public_origin,
        cached_links=settings.local_cache_size,
    )
    app.add_route(handlers.redirect, "/<code:str>", methods=["GET", "HEAD"], name="redirect")
    app.add_route(handlers.root, "/", methods=["GET", "HEAD"], name="root")
    app.add_route(handlers.unlock_form, "/<code:str>", methods=["POST"], name="unlock_form")
    count_redirect_failures(app)

    @app.before_server_start
    async def start(app: RedirectorApp) -> None:
        backends = app.ctx.backends
        local = LocalCache(settings.local_cache_size, settings.local_cache_ttl)
        sink = backends.events or DiscardEvents()
        standby = await standby_reads(settings, backends)
        if standby is not None:
            app.ctx.checks["postgres_standby"] = standby.check
        app.ctx.standby = standby
        resolver = LinkResolver(
            local, backends.cache, backends.links, settings.redirector_db_timeout, standby
        )
        metrics.watch(resolver)
        watch_events(backends.events)
        # Click budgets wait longer for a slow Redis than the link cache does: bypassing
        # it (counting in PostgreSQL) is exact too, but leaves the chunk Redis holds unused.
        budgets = redis_client(settings.redis_url, socket_timeout=BUDGET_REDIS_TIMEOUT)
        app.ctx.budgets = budgets
        handlers.attach(
            resolver,
            sink,
            unlock_service(backends, settings),
            ClickLimiter(ClickBudgets(budgets), backends.links),
            GeoIP(settings.geoip_database or None),
        )
        # A connection of its own: pub/sub holds it for good.
        feed = redis_client(settings.redis_url)
        listener = InvalidationListener(feed, local.invalidate, local.reset)
        # Our own task, not app.add_task: Sanic's single-process shutdown spins
        # forever on registered tasks it has cancelled but can no longer await.
        app.ctx.feed_task = asyncio.create_task(listener.run(), name="invalidation-feed")
        app.ctx.feed = feed

    @app.before_server_stop
    async def stop(app: RedirectorApp) -> None:
        app.ctx.feed_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.feed_task
        await app.ctx.feed.aclose()
        if app.ctx.standby is not None:
            await app.ctx.standby.close()
        await app.ctx.budgets.aclose()

    return app
