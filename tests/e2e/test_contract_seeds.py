"""The cases schemathesis found where the document and the server disagreed (issue
20), kept as seeds every run checks: for each request, the document's verdict (valid
or not, by its own JSON Schemas) must be the server's (2xx or 400)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.e2e.conftest import ApiClient
from tests.harness.stack import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}

# How an integer appears in a query string when the document calls it valid.
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def parameter_schema(api: ApiClient, path: str, name: str) -> dict[str, Any]:
    parameters = api.spec["paths"][path]["get"]["parameters"]
    return next(p["schema"] for p in parameters if p["name"] == name)  # type: ignore[no-any-return]


def query_value_is_valid(schema: dict[str, Any], raw: str) -> bool:
    if schema.get("type") == "integer":
        return bool(_INTEGER.fullmatch(raw)) and Draft202012Validator(schema).is_valid(int(raw))
    return Draft202012Validator(schema).is_valid(raw)


@pytest.mark.parametrize(
    ("name", "raw"),
    [("limit", v) for v in ["5", "100", "0", "101", "+5", " 5", "5 ", "\uff15", "5_0", "05", ""]]
    + [("q", v) for v in ["", "a" * 200, "a" * 201, "HTTP://A"]],
)
def test_list_parameters(api: ApiClient, name: str, raw: str) -> None:
    valid = query_value_is_valid(parameter_schema(api, "/v1/urls", name), raw)
    answer = api.http.get("/v1/urls", params={name: raw}, headers=AUTH)
    assert answer.status_code == (200 if valid else 400), (name, raw, answer.text)


@pytest.mark.parametrize(
    "original_url", ["HTTP://A", "http://a", "HTTP://A0/", "hTTp://a.b:80/x#y", "ftp://a.b"]
)
def test_create_targets(api: ApiClient, original_url: str) -> None:
    schema = {
        **api.spec["components"]["schemas"]["CreateUrl"],
        "components": api.spec["components"],
    }
    body = {"original_url": original_url}
    valid = Draft202012Validator(schema).is_valid(body)
    for path, sent in (("/v1/urls", body), ("/v1/urls/bulk", {"urls": [body]})):
        answer = api.http.post(path, json=sent, headers=AUTH)
        assert answer.status_code == (201 if valid else 400), (path, original_url, answer.text)


@pytest.mark.parametrize(
    "options",
    [{"query_params": False}, {"variants": 0}, {"fallbacks": False}, {"valid_from": ""},
     {"variants": []}, {"fallbacks": {}}, {"query_params": {}}],
)  # fmt: skip
def test_create_options(api: ApiClient, options: dict[str, Any]) -> None:
    """A falsy value of the wrong type was read as absent (the fuzzer's ST201 on bulk)."""
    schema = {
        **api.spec["components"]["schemas"]["CreateUrl"],
        "components": api.spec["components"],
    }
    body = {"original_url": "https://a.example/", **options}
    valid = Draft202012Validator(schema).is_valid(body)
    checked = api.http.post(
        "/v1/urls/bulk", params={"dry_run": "true"}, json={"urls": [body]}, headers=AUTH
    )
    assert checked.status_code == (200 if valid else 400), (options, checked.text)
    created = api.http.post("/v1/urls", json=body, headers=AUTH)
    assert created.status_code == (201 if valid else 400), (options, created.text)
