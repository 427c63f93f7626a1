"""The URL limit (414) and the untrusted-proxy warning are checked as the request
header is read, not by middleware: the redirector runs no middleware per request."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from sanic import Request, Sanic
from sanic.compat import Header

from shortlink.config import Settings
from shortlink.http import wire
from shortlink.http.limits import Limits
from shortlink.redirector.app import create_app


@pytest.mark.parametrize("proxies", ["0", "1"])
def test_the_redirector_runs_no_request_middleware(proxies: str) -> None:
    Sanic.test_mode = True  # lets a second app of the same name be built in a process
    settings = Settings.from_env(
        {"SHORTLINK_SECRET_KEY": "s" * 40, "SHORTLINK_PROXIES_COUNT": proxies}
    )
    app = create_app(settings)
    assert not app.request_middleware
    assert app.ctx.url_bytes == Limits(body_bytes=8192).url_bytes
    assert (app.ctx.inspect_request is None) == (proxies != "0")


def test_an_untrusted_proxy_is_warned_of_once(caplog: pytest.LogCaptureFixture) -> None:
    Sanic.test_mode = True
    app = create_app(Settings.from_env({"SHORTLINK_SECRET_KEY": "s" * 40}))
    inspect = app.ctx.inspect_request
    assert inspect is not None

    def request(peer: str, **headers: str) -> Request:
        made = Request(b"/abc", Header(headers), "1.1", "GET", None, app)
        made.conn_info = SimpleNamespace(client_ip=peer)  # type: ignore[assignment]
        return made

    with caplog.at_level(logging.WARNING, logger="shortlink.http.proxies"):
        inspect(request("81.2.69.142", **{"x-forwarded-for": "10.0.0.1"}))  # a client's own
        assert app.ctx.inspect_request is inspect and not caplog.records
        inspect(request("10.0.3.4", **{"x-forwarded-for": "81.2.69.142"}))  # an ingress
    assert "SHORTLINK_PROXIES_COUNT=0" in caplog.records[0].getMessage()
    assert app.ctx.inspect_request is None  # no further requests looked at


def test_a_url_past_the_limit_is_a_414_uri_too_long() -> None:
    exc = wire.URITooLong("The URL is longer than 4096 bytes")
    assert exc.status_code == 414 and exc.quiet
