"""Request limits and timeouts of the public Sanic apps, set on purpose rather
than left at Sanic's defaults (a 100 MB body, a minute to send a request)."""

from __future__ import annotations

from dataclasses import dataclass

from shortlink.config import Settings
from shortlink.http.context import ComponentApp, Context
from shortlink.http.drain import install_drain

# A handler that runs longer is answered 503 (a bulk of 1,000 bcrypt passwords
# takes about 50 s on one core: the worst legitimate case).
RESPONSE_TIMEOUT = 60.0
# On SIGTERM (what Kubernetes sends): drain for SHORTLINK_SHUTDOWN_DRAIN (drain.py),
# stop accepting, give in-flight requests the rest of this budget from the signal,
# then flush buffered events (at most 5 s, EventPublisher.stop) and close.
# Exit within ~16 s: the chart's terminationGracePeriodSeconds must exceed it (30).
SHUTDOWN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Limits:
    body_bytes: int
    url_bytes: int = 4096  # path and query; beyond it 414 URI_TOO_LONG
    # Request line plus headers; beyond it 431 HEADERS_TOO_LARGE (Sanic's own
    # limit, so a request line longer than this is answered 431 too). Sanic uses
    # min(header_bytes, body_bytes): keep body_bytes at least as large.
    header_bytes: int = 8192


def apply_limits(app: ComponentApp[Context], limits: Limits, settings: Settings) -> None:
    """Sizes from ``limits``; the SIGTERM drain and shutdown budget;
    SHORTLINK_REQUEST_TIMEOUT (a whole request must arrive
    within it, or 408: a slow or stalled client can't hold a connection, as in
    slowloris) and SHORTLINK_KEEP_ALIVE_TIMEOUT (idle connections) from ``settings``."""
    app.config.REQUEST_MAX_SIZE = limits.body_bytes
    app.config.REQUEST_MAX_HEADER_SIZE = limits.header_bytes
    app.config.REQUEST_TIMEOUT = settings.request_timeout
    app.config.RESPONSE_TIMEOUT = RESPONSE_TIMEOUT
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = SHUTDOWN_TIMEOUT - settings.shutdown_drain
    install_drain(app, settings.shutdown_drain)
    app.config.KEEP_ALIVE_TIMEOUT = settings.keep_alive_timeout
    app.ctx.url_bytes = limits.url_bytes  # 414 URI_TOO_LONG past it (wire.StrictHttp)
