"""Sanic glue shared by the HTTP components: errors, ops endpoints, serving."""

from typing import Any, TypeAlias

from sanic import Request, Sanic

from shortlink.http.forwarded import client_address

App: TypeAlias = Sanic[Any, Any]


def client_ip(request: Request[Any, Any]) -> str:
    """The client's address: from X-Forwarded-For/Forwarded when SHORTLINK_PROXIES_COUNT
    trusts proxies in front of us, else the peer's. Sanic writes a forwarded IPv6
    address in brackets ("[2001:db8::1]"): unwrapped, so limits can take its /64.
    (On a hot path, keep ``client_address(app.config)``: it reads the settings once.)"""
    return client_address(request.app.config)(request)
