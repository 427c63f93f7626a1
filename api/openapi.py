"""The OpenAPI 3.1 document. Request schemas come from the pydantic models that
parse requests; response schemas are written here and checked against real
responses by the end-to-end tests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shortlink import __version__
from shortlink.api.schemas import BulkCreate, CreateApiKey, CreateUrl, Unlock, UpdateUrl
from shortlink.domain.analytics import BREAKDOWNS

_REF = "#/components/schemas/{model}"

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_TIME = {"type": "string", "format": "date-time"}

RESPONSE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Link": {
        "type": "object",
        "required": [
            "short_code", "short_url", "original_url", "expires_at", "created_at",
            "updated_at", "is_custom_alias", "password_protected", "redirect_type", "is_active",
        ],
        "properties": {
            "short_code": {"type": "string"},
            "short_url": {"type": "string", "format": "uri"},
            "original_url": {"type": "string", "format": "uri"},
            "expires_at": _NULLABLE_TIME,
            "created_at": _TIME,
            "updated_at": _TIME,
            "is_custom_alias": {"type": "boolean"},
            "password_protected": {"type": "boolean"},
            "redirect_type": {"type": "integer", "enum": [301, 302, 307, 308]},
            "is_active": {"type": "boolean"},
        },
    },
    "LinkPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": _REF.format(model="Link")}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "BulkResult": {
        "type": "object",
        "required": ["created", "failed", "results"],
        "properties": {
            "created": {"type": "integer"},
            "failed": {"type": "integer"},
            "results": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {
                            "allOf": [
                                {"$ref": _REF.format(model="Link")},
                                {"type": "object", "required": ["index"],
                                 "properties": {"index": {"type": "integer"}}},
                            ]
                        },
                        {
                            "type": "object",
                            "required": ["index", "error", "message", "suggestions"],
                            "properties": {
                                "index": {"type": "integer"},
                                "error": {"type": "string"},
                                "message": {"type": "string"},
                                "suggestions": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    ]
                },
            },
        },
    },
    "Unlocked": {
        "type": "object",
        "required": ["unlock_token", "redirect_url", "original_url", "expires_in"],
        "properties": {
            "unlock_token": {"type": "string"},
            "redirect_url": {"type": "string", "format": "uri"},
            "original_url": {"type": "string", "format": "uri"},
            "expires_in": {"type": "integer"},
        },
    },
    "ApiKey": {
        "type": "object",
        "required": ["id", "prefix", "name", "owner", "is_admin", "created_at", "revoked_at"],
        "properties": {
            "id": {"type": "integer"},
            "prefix": {"type": "string"},
            "name": {"type": "string"},
            "owner": {"type": "string"},
            "is_admin": {"type": "boolean"},
            "created_at": _TIME,
            "revoked_at": _NULLABLE_TIME,
        },
    },
    "NewApiKey": {
        "allOf": [
            {"$ref": _REF.format(model="ApiKey")},
            {"type": "object", "required": ["key"],
             "properties": {"key": {"type": "string", "description": "Shown only once"}}},
        ]
    },
    "ApiKeyList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": _REF.format(model="ApiKey")}}},
    },
    "LinkStats": {
        "type": "object",
        "required": ["code", "from", "to", "interval", "totals", "series", *BREAKDOWNS],
        "properties": {
            "code": {"type": "string"},
            "from": {**_TIME, "description": "Range start, aligned down to the hour"},
            "to": {**_TIME, "description": "Range end (exclusive), aligned up to the hour"},
            "interval": {"type": "string", "enum": ["day", "hour"]},
            "totals": {
                "type": "object",
                "required": ["clicks", "bot_clicks", "unique_visitors"],
                "properties": {
                    "clicks": {"type": "integer", "description": "Human GET clicks"},
                    "bot_clicks": {"type": "integer"},
                    "unique_visitors": {"type": "integer"},
                },
            },
            "series": {
                "type": "array",
                "description": "One point per bucket, zero buckets included",
                "items": {"type": "object", "required": ["t", "clicks"],
                          "properties": {"t": _TIME, "clicks": {"type": "integer"}}},
            },
            **{name: {"$ref": _REF.format(model="Breakdown")} for name in BREAKDOWNS},
        },
    },
    "Breakdown": {
        "type": "array",
        "description": "Human clicks by value, largest first",
        "items": {"type": "object", "required": ["value", "clicks"],
                  "properties": {"value": {"type": "string"}, "clicks": {"type": "integer"}}},
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Stable machine-readable code"},
            "message": {"type": "string"},
        },
        "additionalProperties": True,
    },
}  # fmt: skip


def _json(schema: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return _json("Error", description)


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }


_RATE_HEADERS = {
    name: {"schema": {"type": "integer"}, "description": text}
    for name, text in {
        "RateLimit-Limit": "Requests allowed per window",
        "RateLimit-Remaining": "Requests left in this window",
        "RateLimit-Reset": "Seconds until the window resets",
    }.items()
}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
_AUTH_ERRORS = {"401": _error("Missing, invalid or revoked API key")}
_CREATE_ERRORS = {
    "400": _error("Invalid input (INVALID_URL, INVALID_ALIAS, INVALID_EXPIRY, INVALID_URLS...)"),
    "429": _error("RATE_LIMIT_EXCEEDED, with retry_after and rate_limit"),
    **_AUTH_ERRORS,
}


def build_openapi(server_url: str | None = None) -> dict[str, Any]:
    components = {model: schema for model, schema in RESPONSE_SCHEMAS.items()}
    for model in (CreateUrl, BulkCreate, UpdateUrl, Unlock, CreateApiKey):
        schema = model.model_json_schema(ref_template=_REF)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    paths: dict[str, Any] = {
        "/v1/urls": {
            "post": {
                "operationId": "create_url",
                "summary": "Shorten a URL (optionally with alias, expiry, password)",
                "requestBody": _body(CreateUrl),
                "responses": {
                    "201": _json("Link", "Created", _RATE_HEADERS),
                    "409": _error("ALIAS_TAKEN, with free suggestions"),
                    **_CREATE_ERRORS,
                },
            },
            "get": {
                "operationId": "list_urls",
                "summary": "Your links, newest first",
                "parameters": [
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": _json("LinkPage", "A page of links"),
                              "400": _error("Bad limit or cursor"), **_AUTH_ERRORS},
            },
        },
        "/v1/urls/bulk": {
            "post": {
                "operationId": "create_urls_bulk",
                "summary": "Shorten up to 1000 URLs in one transaction",
                "requestBody": _body(BulkCreate),
                "responses": {"201": _json("BulkResult", "Created", _RATE_HEADERS),
                              **_CREATE_ERRORS},
            }
        },
        "/v1/urls/{code}": {
            "parameters": [_CODE],
            "get": {
                "operationId": "get_url",
                "summary": "One of your links",
                "responses": {"200": _json("Link", "The link"),
                              "404": _error("No such link of yours"), **_AUTH_ERRORS},
            },
            "patch": {
                "operationId": "update_url",
                "summary": "Change target, expiry, password, redirect type or active flag",
                "requestBody": _body(UpdateUrl),
                "responses": {"200": _json("Link", "Updated"), "400": _error("Invalid change"),
                              "404": _error("No such link of yours"), **_AUTH_ERRORS},
            },
            "delete": {
                "operationId": "delete_url",
                "summary": "Delete a link (its code is never reused)",
                "responses": {"204": {"description": "Deleted"},
                              "404": _error("No such link of yours"), **_AUTH_ERRORS},
            },
        },
        "/v1/urls/{code}/stats": {
            "parameters": [_CODE],
            "get": {
                "operationId": "url_stats",
                "summary": "Click stats of one of your links: totals, series, breakdowns",
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "string"},
                     "description": "ISO 8601 date or date-time (default: 30 days, or 48 "
                                    "hours by hour, before 'to')"},
                    {"name": "to", "in": "query", "schema": {"type": "string"},
                     "description": "ISO 8601 date or date-time (default: now)"},
                    {"name": "interval", "in": "query",
                     "schema": {"type": "string", "enum": ["day", "hour"], "default": "day"}},
                ],
                "responses": {"200": _json("LinkStats", "Stats"),
                              "400": _error("Bad range or interval"),
                              "404": _error("No such link of yours"),
                              "503": _error("ANALYTICS_UNAVAILABLE"), **_AUTH_ERRORS},
            },
        },
        "/v1/urls/{code}/unlock": {
            "parameters": [_CODE],
            "post": {
                "operationId": "unlock_url",
                "summary": "Trade a link's password for a 1-hour unlock token",
                "security": [],
                "requestBody": _body(Unlock),
                "responses": {
                    "200": _json("Unlocked", "Unlocked"),
                    "400": _error("Link has no password, or bad body"),
                    "401": _error("INVALID_PASSWORD, with attempts_remaining"),
                    "404": _error("No such link"),
                    "410": _error("URL_EXPIRED"),
                    "429": _error("TOO_MANY_ATTEMPTS, with retry_after"),
                },
            }
        },
        "/v1/api-keys": {
            "get": {
                "operationId": "list_api_keys",
                "summary": "Your API keys (all keys for admins)",
                "responses": {"200": _json("ApiKeyList", "Keys"), **_AUTH_ERRORS},
            },
            "post": {
                "operationId": "create_api_key",
                "summary": "Mint a key (for rotation; admins: for any owner)",
                "requestBody": _body(CreateApiKey),
                "responses": {"201": _json("NewApiKey", "Created; the key is shown once"),
                              "400": _error("Bad body"), "403": _error("Not allowed"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/api-keys/{key_id}": {
            "parameters": [{"name": "key_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "delete": {
                "operationId": "revoke_api_key",
                "summary": "Revoke a key",
                "responses": {"200": _json("ApiKey", "Revoked"), "404": _error("No such key"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 document",
                                      "content": {"application/json": {}}}},
            }
        },
    }  # fmt: skip
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Shortlink API",
            "version": __version__,
            "description": "Create and manage short links. Errors are JSON: "
            '{"error": CODE, "message": ...}.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
