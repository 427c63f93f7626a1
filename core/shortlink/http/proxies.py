"""A loud warning when the deployment looks misconfigured behind a proxy.

With SHORTLINK_PROXIES_COUNT=0 the peer address is taken as the client's. Behind an
ingress that is the ingress's own address for every visitor: they then share one
unlock-failure bucket per link (five wrong guesses lock everyone out) and one
anonymous-create bucket. A request from a private address carrying
X-Forwarded-For is the tell-tale; it is logged once per process, at WARNING.
"""

from __future__ import annotations

import ipaddress
import logging

from sanic import Request

from shortlink.http.context import ComponentApp, Context

log = logging.getLogger(__name__)


def looks_proxied(peer: str, forwarded_for: str | None) -> bool:
    if not forwarded_for:
        return False
    try:
        return ipaddress.ip_address(peer).is_private
    except ValueError:
        return False


def warn_if_behind_untrusted_proxy(app: ComponentApp[Context]) -> None:
    """Looks at each request as its header is read (``app.ctx.inspect_request``, called
    by wire.StrictHttp: no middleware round per request), until it has warned."""

    def check(request: Request) -> None:
        if not looks_proxied(request.ip, request.headers.get("x-forwarded-for")):
            return
        app.ctx.inspect_request = None  # warned: requests are no longer looked at
        log.warning(
            "requests arrive through a proxy (X-Forwarded-For from a private address) but "
            "SHORTLINK_PROXIES_COUNT=0: every client gets the proxy's address, so unlock "
            "and anonymous-create limits are shared by all visitors; set "
            "SHORTLINK_PROXIES_COUNT to the number of proxies in front",
            extra={"peer": request.ip},
        )

    app.ctx.inspect_request = check
