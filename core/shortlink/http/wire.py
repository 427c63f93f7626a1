"""HTTP/1.1 on the wire as RFC 9110 and 9112 want it, where Sanic falls short.

- Every answer carries ``Date`` (RFC 9110 §6.6.1). Formatting it per response
  would cost the redirect hot path; the value changes once a second, so it is
  formatted (and encoded) once a second.
- A request without exactly one ``Host`` is 400 (RFC 9112 §3.2: required in
  HTTP/1.1, never twice).
- A path and query longer than the app's limit (``app.ctx.url_bytes``, set by
  limits.apply_limits) is 414 URI_TOO_LONG, checked here rather than by a request
  middleware: a route with any middleware pays Sanic's middleware round per request.
- A request line Sanic can't parse (a raw NUL, say) is answered 400 like any bad
  request. Sanic's error path rebuilt a request from the same bad URL, failed
  again, dropped the connection unanswered and logged four chained tracebacks per
  request: anyone could flood the log. Now a debug line, counted.
"""

from __future__ import annotations

import itertools
import logging
import time
from email.utils import formatdate

from sanic.exceptions import BadRequest, SanicException
from sanic.http import Http

log = logging.getLogger(__name__)

_date_second = -1
_date_text = ""
_date_encoded = (b"date", b"")
_unparsable = itertools.count(1)


def http_date() -> str:
    """Now as an IMF-fixdate, formatted at most once a second."""
    global _date_second, _date_text, _date_encoded
    now = int(time.time())
    if now != _date_second:
        _date_text = formatdate(now, usegmt=True)
        _date_encoded = (b"date", _date_text.encode("ascii"))
        _date_second = now
    return _date_text


def encoded_date(text: str) -> tuple[bytes, bytes] | None:
    """The encoded header for a value ``http_date`` returned this second, else None."""
    return _date_encoded if text == _date_text else None


class URITooLong(SanicException):
    """Answered 414 URI_TOO_LONG (errors.install_error_handlers)."""

    status_code = 414
    quiet = True


class StrictHttp(Http):
    """Sanic's HTTP/1.1 connection handler with the checks above."""

    __slots__ = ()

    async def http1_request_header(self) -> None:
        await super().http1_request_header()  # type: ignore[no-untyped-call]
        request = self.request
        hosts = len(request.headers.getall("host", ()))
        if hosts > 1 or (hosts == 0 and request.version == "1.1"):
            raise BadRequest("An HTTP/1.1 request needs exactly one Host header")
        context = self.protocol.app.ctx
        if len(request.raw_url) > context.url_bytes:
            raise URITooLong(f"The URL is longer than {context.url_bytes} bytes")
        if context.inspect_request is not None:
            # Sanic attaches the connection (request.ip) only after this method: the
            # look needs it now.
            request.conn_info = self.protocol.conn_info
            context.inspect_request(request)

    async def http1_response_header(self, data: bytes, end_stream: bool) -> None:
        self.response.headers["date"] = http_date()
        await super().http1_response_header(data, end_stream)

    def create_empty_request(self) -> None:
        """The stand-in request Sanic's error path builds when parsing failed: from
        a URL that parses (``*``) when the received one doesn't."""
        try:
            super().create_empty_request()
        except BadRequest:
            log.debug("unparsable request line answered 400", extra={"count": next(_unparsable)})
            self.url = ""
            super().create_empty_request()
