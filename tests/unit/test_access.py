"""The endpoint table: total over the router, ordered by role, and its denials clear."""

from __future__ import annotations

import functools

import pytest
from sanic import Sanic

from shortlink.api.app import create_app
from shortlink.api.auth import GUARDED_BLUEPRINTS
from shortlink.config import Settings
from shortlink.domain.access import (
    ENDPOINT_ROLES,
    INSTANCE_ADMIN_ENDPOINTS,
    PUBLIC_ENDPOINTS,
    Principal,
    authorize,
    permits,
)
from shortlink.domain.errors import Forbidden
from shortlink.domain.workspaces import Role


@functools.cache
def guarded_routes() -> dict[str, frozenset[str]]:
    """endpoint -> HTTP methods, for every route of the guarded blueprints."""
    Sanic.test_mode = True  # lets a second app of the same name be built in a process
    app = create_app(Settings(secret_key="s" * 32))
    routes: dict[str, set[str]] = {}
    for route in app.router.routes:
        _, blueprint, name = route.name.split(".")[:3]
        if blueprint in GUARDED_BLUEPRINTS:
            routes.setdefault(name, set()).update(route.methods)
    return {name: frozenset(methods) for name, methods in routes.items()}


def test_every_route_is_in_exactly_one_row_of_the_table() -> None:
    rows = [set(ENDPOINT_ROLES), set(PUBLIC_ENDPOINTS), set(INSTANCE_ADMIN_ENDPOINTS)]
    assert all(not (a & b) for i, a in enumerate(rows) for b in rows[i + 1 :])
    assert set(guarded_routes()) == set().union(*rows)


def test_reading_never_needs_more_than_writing() -> None:
    for endpoint, methods in guarded_routes().items():
        if endpoint in ENDPOINT_ROLES and methods <= {"GET", "HEAD"}:
            assert ENDPOINT_ROLES[endpoint] <= Role.ADMIN
        if endpoint in ENDPOINT_ROLES and methods - {"GET", "HEAD"}:
            assert ENDPOINT_ROLES[endpoint] >= Role.EDITOR, endpoint


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_ROLES))
def test_each_role_may_do_what_the_roles_below_may(endpoint: str) -> None:
    allowed = [permits(role, endpoint) for role in Role]
    assert allowed == sorted(allowed) and allowed[-1]  # owners may do everything


def test_a_denial_names_the_role_needed_and_the_callers() -> None:
    viewer = Principal("key", "key:7", "acme", Role.VIEWER)
    with pytest.raises(Forbidden) as denied:
        authorize(viewer, "delete_url")
    assert denied.value.details == {"required": "editor", "role": "viewer"}
    authorize(Principal("key", "key:1", "admin", Role.VIEWER, instance_admin=True), "put_member")
    with pytest.raises(Forbidden):
        authorize(Principal("key", "key:8", "acme", Role.OWNER), "create_workspace")
