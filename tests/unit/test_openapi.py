"""The OpenAPI document against the app it describes: one operation per route and
one route per operation, schemas generated from the models the handlers answer with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from sanic import Sanic

from shortlink.api.app import create_app
from shortlink.api.openapi import build_openapi
from shortlink.api.representations import RESPONSE_MODELS, LinkStats
from shortlink.config import Settings
from shortlink.domain.analytics import BREAKDOWNS
from shortlink.http import App
from shortlink.http.errors import error_response

# Routes that are not the API: the web UI's page and its assets.
NOT_THE_API = {("GET", "/", "ui_index"), ("GET", "/ui/{name}", "ui_asset")}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    # Test mode: the app registry takes this name even if another test built it.
    test_mode, Sanic.test_mode = Sanic.test_mode, True
    app = create_app(Settings.from_env({"SHORTLINK_SECRET_KEY": "s" * 40}))
    app.router.finalize()
    yield app
    Sanic.unregister_app(app)
    Sanic.test_mode = test_mode


def routes(app: App) -> set[tuple[str, str, str]]:
    """(method, OpenAPI path, name) of each route: /v1/urls/<code:str> is /v1/urls/{code}."""
    found = set()
    for route in app.router.routes:
        path = re.sub(r"<(\w+)(?::[^>]*)?>", r"{\1}", route.uri)
        name = route.name.rsplit(".", 1)[-1]
        found |= {(method, path, name) for method in route.methods}
    return found


def operations(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (method.upper(), path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_route_has_an_operation_and_every_operation_a_route(app: App) -> None:
    served = routes(app) - NOT_THE_API
    documented = operations(build_openapi())
    assert sorted(served - documented) == [], "routes the document lacks"
    assert sorted(documented - served) == [], "operations no route serves"
    assert routes(app) >= NOT_THE_API  # the exceptions still exist


def test_the_document_is_valid_openapi() -> None:
    validate_spec(build_openapi())  # type: ignore[arg-type]


def test_every_response_schema_is_a_model() -> None:
    """No hand-written response schema: each JSON answer names a response model
    (or the error body), and every reference in the document resolves."""
    document = build_openapi()
    schemas = document["components"]["schemas"]
    models = {model.__name__ for model in RESPONSE_MODELS} | {"Error"}
    answered = set()
    for item in document["paths"].values():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for response in operation["responses"].values():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    answered.add(schema["$ref"].removeprefix("#/components/schemas/"))
    assert answered == models
    references = set(re.findall(r'"#/components/schemas/(\w+)"', orjson.dumps(document).decode()))
    assert references <= set(schemas)


def test_stats_have_one_field_per_breakdown() -> None:
    fields = set(LinkStats.model_fields)
    view = {"code", "start", "end", "interval", "timezone", "filters", "comparison"}
    assert fields - view - {"totals", "series"} == set(BREAKDOWNS)


def test_error_bodies_match_the_error_schema() -> None:
    document = build_openapi()
    body = error_response(429, "TOO_MANY_ATTEMPTS", "Slow down", retry_after=3).body
    schema = {"$ref": "#/components/schemas/Error", "components": document["components"]}
    validator = Draft202012Validator(schema)
    assert validator.is_valid(orjson.loads(body))
    assert not validator.is_valid({"message": "no code"})
