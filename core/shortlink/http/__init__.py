"""Sanic glue shared by the HTTP components: errors, ops endpoints, serving."""

from typing import Any, TypeAlias

from sanic import Request, Sanic

App: TypeAlias = Sanic[Any, Any]


def client_ip(request: Request) -> str:
    """The client's address: from X-Forwarded-For/Forwarded when SHORTLINK_PROXIES_COUNT
    trusts proxies in front of us, else the peer's."""
    return request.remote_addr or request.ip
