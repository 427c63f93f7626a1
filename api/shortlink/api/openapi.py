"""The OpenAPI 3.1 document. Its schemas come from the pydantic models the server
parses requests with (api/schemas.py, with the domain's rules laid over them by
request_constraints) and answers with (api/representations.py, and the error body
of shortlink.http.errors); the operations are written here, and a unit test holds
them equal to the app's routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from shortlink.api.link_option_schema import PROPERTIES as LINK_OPTIONS
from shortlink.api.link_option_schema import VISITOR
from shortlink.api.oidc import STATE_COOKIE
from shortlink.api.qr_codes import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE
from shortlink.api.representations import RESPONSE_MODELS
from shortlink.api.request_constraints import (
    ALIAS,
    API_LIMITS,
    CODE,
    CURSOR,
    END,
    ERASURE_BOUND,
    INSTANT,
    MEMBER,
    STATS_INSTANT,
    STORABLE,
    constrain,
)
from shortlink.api.schemas import (
    BulkCreate,
    CreateApiKey,
    CreateSession,
    CreateUrl,
    CreateWorkspace,
    PreviewVisitor,
    PutMember,
    Unlock,
    UpdateUrl,
    UpdateWorkspace,
)
from shortlink.api.stats_csv import CSV_TABLES
from shortlink.domain.audit import AUDIT_CURSOR, MAX_AUDIT_PAGE
from shortlink.domain.idempotency import HEADER, MAX_KEY_LENGTH, REPLAYED_HEADER
from shortlink.domain.link_listing import MAX_SEARCH_LENGTH, SORTS, STATUSES
from shortlink.domain.link_options import MAX_FOLDER_LENGTH, MAX_TAG_LENGTH
from shortlink.domain.sessions import SESSION_COOKIE
from shortlink.domain.stats_filters import DIMENSIONS, FILTER_PATTERN, MAX_FILTER_VALUE, MAX_FILTERS
from shortlink.domain.stats_request import (
    COMPARISONS,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_SPAN,
    known_timezones,
)
from shortlink.http.errors import Error
from shortlink.services.links import MAX_PAGE_SIZE
from shortlink.version import VERSION

_REF = "#/components/schemas/{model}"


class _Untitled(GenerateJsonSchema):
    """pydantic's schemas without a title on every property (the names say it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _schemas(models: tuple[type[BaseModel], ...], mode: JsonSchemaMode) -> dict[str, Any]:
    """Each model's schema, and the schemas they refer to, by model name."""
    components: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_REF, schema_generator=_Untitled, mode=mode)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


def _json(schema: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}},
    }
    if headers:
        response["headers"] = headers
    return response


_NOT_CHANGED = (
    "CACHE_UNAVAILABLE (or DATABASE_UNAVAILABLE), with Retry-After: nothing was changed, "
    "since the link cache could not be told and would have kept serving the old link"
)
_MANAGED = (
    "MANAGED_BY_KUBERNETES, with namespace and name: the link is declared by that ShortLink "
    "resource (docs/workspaces.md); edit or delete it there"
)


_ERASURE_DESCRIPTION = (
    "Admins and owners only. Removes the clicks from the raw table and from every hourly "
    "and daily aggregate, so stats no longer count them; recorded in the audit log as "
    "'clicks.erase'. Ranges are whole UTC days (the daily aggregates can't be split): "
    "'from' inclusive, 'to' exclusive, either left out for an open end, both left out "
    "for every click."
)
_ERASURE_RANGE = [
    {"name": bound, "in": "query", "schema": ERASURE_BOUND,
     "description": f"{what}: a date (2026-01-01) or an ISO 8601 instant at a UTC midnight"}
    for bound, what in (("from", "First day erased"), ("to", "First day kept after"))
]  # fmt: skip


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
_CODE = {"name": "code", "in": "path", "required": True, "schema": CODE,
         "description": "A short code (anything else: 404)"}  # fmt: skip
_AUTH_ERRORS = {
    "401": _error("Missing, invalid or revoked API key, or no session"),
    "403": _error("FORBIDDEN: the caller's role in its workspace is below the one this "
                  "needs (required and role name both); or CSRF_FAILED: a state-changing "
                  "request with the session cookie lacked the X-CSRF-Token header or came "
                  "from another Origin"),
}  # fmt: skip
_STATS_DESCRIPTION = (
    "Unfiltered stats in UTC are read from the aggregates; filters, another timezone and "
    "realtime read the raw clicks of the links asked about. Every refusal is a 400 with a "
    "code: INVALID_REQUEST (a date unreadable or outside the years 1970-2105, 'to' not "
    "after 'from', a bad interval, compare or limit), RANGE_TOO_LONG, INVALID_TIMEZONE, "
    "INVALID_DIMENSION, INVALID_FILTER."
)
_STATS_RANGE: list[dict[str, Any]] = [
    {"name": "from", "in": "query", "schema": STATS_INSTANT,
     "description": "ISO 8601 date or date-time, before 'to' (default: 30 days, or 48 "
                    "hours by hour, before 'to'); without an offset it is read in "
                    f"'timezone'. At most {MAX_SPAN['day'].days} days, or "
                    f"{MAX_SPAN['hour'].days} days by hour, before 'to': more is a 400 "
                    "RANGE_TOO_LONG"},
    {"name": "to", "in": "query", "schema": STATS_INSTANT,
     "description": "ISO 8601 date or date-time (default: now)"},
    {"name": "interval", "in": "query",
     "schema": {"type": "string", "enum": ["day", "hour"], "default": "day"}},
    {"name": "timezone", "in": "query",
     "schema": {"type": "string", "enum": sorted(known_timezones()), "default": "UTC"},
     "description": "IANA time zone: daily and hourly buckets start at its midnights and "
                    "hours, dates without offset are read in it (else 400 INVALID_TIMEZONE)"},
    {"name": "compare", "in": "query",
     "schema": {"type": "string", "enum": list(COMPARISONS)},
     "description": "previous_period: the as-long period just before; custom: "
                    "compare_from to compare_to. Its totals and series come as 'comparison'"},
    {"name": "compare_from", "in": "query", "schema": STATS_INSTANT,
     "description": "With compare=custom (required then; without it a 400), as 'from'"},
    {"name": "compare_to", "in": "query", "schema": STATS_INSTANT,
     "description": "With compare=custom (required then; without it a 400), as 'to'"},
]  # fmt: skip
_STATS_VIEW: list[dict[str, Any]] = [
    {"name": "filter", "in": "query", "style": "form", "explode": True,
     "schema": {"type": "array", "maxItems": MAX_FILTERS,
                "items": {"type": "string", "pattern": f"{FILTER_PATTERN}{END}"}},
     "description": "'<dimension>:<is|is_not>:<value>', repeated: all must hold. "
                    f"Dimensions: {', '.join(DIMENSIONS)} (else 400 INVALID_DIMENSION). "
                    "The value as the breakdowns show it ('Paris, FR', 'link/b'), at most "
                    f"{MAX_FILTER_VALUE} characters; empty: none (referrer:is: is direct "
                    "traffic). visitor:is:bot counts bots instead of people. At most "
                    f"{MAX_FILTERS} filters; anything else is a 400 INVALID_FILTER"},
    {"name": "limit", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
     "description": "Rows kept per breakdown (the largest)"},
    {"name": "format", "in": "query",
     "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
    {"name": "table", "in": "query",
     "schema": {"type": "string", "enum": list(CSV_TABLES), "default": "series"},
     "description": "With format=csv: which table of the view (the series has the compared "
                    "period's beside it)"},
]  # fmt: skip
_STATS_ANSWERS = {
    "200": {"description": "Stats (text/csv with format=csv)",
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="LinkStats")}},
                        "text/csv": {"schema": {"type": "string"}}}},
    "400": _error("INVALID_REQUEST, RANGE_TOO_LONG, INVALID_TIMEZONE, INVALID_DIMENSION or "
                  "INVALID_FILTER; 'parameter' names the one at fault"),
    "503": _error("ANALYTICS_UNAVAILABLE"),
    **_AUTH_ERRORS,
}  # fmt: skip
_IDEMPOTENCY_TEXT = (
    "Needs an API key. A retry with the same key (per owner, 24 h) and the same "
    f"body gets the original 201 back, with {REPLAYED_HEADER}: true; another body gets 422."
)
_IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": _IDEMPOTENCY_TEXT,
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[ -~]+$",
    },
}
_CREATE_HEADERS = {
    **_RATE_HEADERS,
    REPLAYED_HEADER: {
        "description": "true: a replay of an earlier response to this key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_CREATE_ERRORS = {
    "400": _error("Invalid input (INVALID_URL, INVALID_ALIAS, INVALID_EXPIRY, INVALID_URLS...)"),
    "429": _error("RATE_LIMIT_EXCEEDED, with retry_after and rate_limit"),
    "503": _error(
        "PASSWORD_HASHING_BUSY (too many passwords waiting for bcrypt) or "
        "DATABASE_UNAVAILABLE, with retry_after and Retry-After"
    ),
    **_AUTH_ERRORS,
}


_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again",
    }
}
# Answers any operation can give, whatever it does.
_COMMON_ERRORS = {
    "405": {**_error("METHOD_NOT_ALLOWED: not a method of this path"),
            "headers": {"Allow": {"schema": {"type": "string"},
                                  "description": "The methods this path takes"}}},
    "414": _error(f"URI_TOO_LONG: path and query past {API_LIMITS.url_bytes} bytes"),
    "431": _error("HEADERS_TOO_LARGE: request line and headers past "
                  f"{API_LIMITS.header_bytes} bytes"),
    "503": {**_error("DATABASE_UNAVAILABLE (PostgreSQL unreachable), or SESSIONS_UNAVAILABLE "
                     "(Redis, for a browser session), with retry_after"),
            "headers": _RETRY_AFTER},
}  # fmt: skip


def _add_common_errors(paths: dict[str, Any]) -> None:
    """Every operation's document lists every status it can answer."""
    for item in paths.values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault("413", _error("PAYLOAD_TOO_LARGE: body past the limit"))
                responses.setdefault("400", _error("INVALID_REQUEST: the body is malformed"))
            for status, response in _COMMON_ERRORS.items():
                responses.setdefault(status, response)
            if "429" in responses:
                responses["429"] = {**responses["429"], "headers": _RETRY_AFTER}


_MEMBER = {"name": "member", "in": "path", "required": True, "schema": MEMBER,
           "description": "The member's e-mail address"}  # fmt: skip


def _text_filter(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {**STORABLE, "minLength": 1, "maxLength": 320}}  # fmt: skip


def _workspace_paths() -> dict[str, Any]:
    """Workspaces, members and the audit log (issue 21)."""
    return {
        "/v1/workspaces": {
            "get": {
                "operationId": "list_workspaces",
                "summary": "The workspaces you can act in",
                "responses": {"200": _json("WorkspaceList", "Workspaces"), **_AUTH_ERRORS},
            },
            "post": {
                "operationId": "create_workspace",
                "summary": "Create a workspace (instance administrators)",
                "requestBody": _body(CreateWorkspace),
                "responses": {"201": _json("Workspace", "Created"),
                              "400": _error("Bad slug or name"),
                              "409": _error("CONFLICT: the slug is taken"), **_AUTH_ERRORS},
            },
        },
        "/v1/workspace": {
            "get": {
                "operationId": "get_workspace",
                "summary": "The workspace you act in, and your role there",
                "responses": {"200": _json("CurrentWorkspace", "The workspace"),
                              **_AUTH_ERRORS},
            },
            "patch": {
                "operationId": "update_workspace",
                "summary": "Rename it, or (owners) change how long its audit log is kept",
                "requestBody": _body(UpdateWorkspace),
                "responses": {"200": _json("Workspace", "Updated"),
                              "400": _error("Bad change"), **_AUTH_ERRORS},
            },
        },
        "/v1/workspace/members": {
            "get": {
                "operationId": "list_members",
                "summary": "The people in the workspace, with their roles",
                "responses": {"200": _json("MemberList", "Members"), **_AUTH_ERRORS},
            },
        },
        "/v1/workspace/members/{member}": {
            "parameters": [_MEMBER],
            "put": {
                "operationId": "put_member",
                "summary": "Add a person, or change their role",
                "description": "Nobody grants more than their own role; only owners "
                               "change owners. A workspace with members keeps an owner.",
                "requestBody": _body(PutMember),
                "responses": {"200": _json("Member", "The member"),
                              "400": _error("Bad member or role"),
                              "409": _error("CONFLICT: that would leave no owner"),
                              **_AUTH_ERRORS},
            },
            "delete": {
                "operationId": "delete_member",
                "summary": "Remove a person",
                "responses": {"204": {"description": "Removed"},
                              "400": _error("Bad member"),
                              "404": _error("Not a member"),
                              "409": _error("CONFLICT: that would leave no owner"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/workspace/audit": {
            "get": {
                "operationId": "list_audit",
                "summary": "The workspace's audit log, newest first",
                "parameters": [
                    _text_filter("link", "One link's history (its code)"),
                    {"name": "target_type", "in": "query",
                     "schema": {"type": "string",
                                "enum": ["link", "key", "member", "workspace", "endpoint"]}},
                    _text_filter("target", "A code, key id, member or slug"),
                    _text_filter("actor", "key:<id>, an e-mail address, ..."),
                    _text_filter("action", "e.g. link.update"),
                    {"name": "from", "in": "query", "schema": INSTANT},
                    {"name": "to", "in": "query", "schema": INSTANT,
                     "description": "Exclusive"},
                    {"name": "cursor", "in": "query",
                     "schema": {"type": "string", "pattern": f"^{AUDIT_CURSOR.pattern}{END}"},
                     "description": "next_cursor of the page before"},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_PAGE,
                                "default": 50}},
                ],
                "responses": {"200": _json("AuditPage", "A page of entries"),
                              "400": _error("Bad filter, cursor or limit"), **_AUTH_ERRORS},
            },
        },
    }  # fmt: skip


def _oidc_paths() -> dict[str, Any]:
    """Single sign-on for the web UI (issue 21): a browser's round trip to the provider."""
    disabled = _error("OIDC_DISABLED: no OpenID provider is configured")
    return {
        "/v1/oidc": {
            "get": {
                "operationId": "oidc_status",
                "summary": "Whether single sign-on is configured (the sign-in page asks)",
                "security": [],
                "responses": {"200": _json("OidcStatus", "The answer")},
            },
        },
        "/v1/oidc/login": {
            "get": {
                "operationId": "oidc_login",
                "summary": "Start signing in at the OpenID provider (a browser navigates here)",
                "description": "Redirects to the provider's authorization endpoint (code "
                               "flow, PKCE S256, a state and a nonce kept server-side for "
                               f"SHORTLINK_OIDC_LOGIN_TTL seconds) and sets {STATE_COOKIE} "
                               "(HttpOnly, SameSite=Lax), which binds the state to this "
                               "browser.",
                "security": [],
                "responses": {
                    "302": {"description": "To the provider",
                            "headers": {"Location": {"schema": {"type": "string"}},
                                        "Set-Cookie": {"schema": {"type": "string"},
                                                       "description": STATE_COOKIE}}},
                    "404": disabled,
                    "429": _error("RATE_LIMIT_EXCEEDED: too many sign-ins started from "
                                  "this network"),
                    "503": {**_error("IDENTITY_PROVIDER_UNAVAILABLE: the provider's "
                                     "discovery document could not be read"),
                            "headers": _RETRY_AFTER},
                },
            },
        },
        "/v1/oidc/callback": {
            "get": {
                "operationId": "oidc_callback",
                "summary": "Where the provider sends the browser back: signs the person in",
                "description": "The state must be the one this browser's "
                               f"{STATE_COOKIE} cookie holds and is good once. The ID "
                               "token must be signed by a key of the provider's JWKS, for "
                               "this client, from this issuer, unexpired, with this "
                               "sign-in's nonce and a verified e-mail address. The person "
                               "then acts as a member of their workspaces (checked at every "
                               "request), with the roles SHORTLINK_OIDC_GROUP_ROLES gives "
                               "their groups.",
                "security": [],
                "parameters": [
                    {"name": name, "in": "query", "required": False,
                     "schema": {**STORABLE, "minLength": 1, "maxLength": 2048}}
                    for name in ("code", "state", "error", "error_description")
                ],
                "responses": {
                    "303": {"description": "Signed in: to the web UI",
                            "headers": {"Location": {"schema": {"type": "string"}},
                                        "Set-Cookie": {"schema": {"type": "string"},
                                                       "description": SESSION_COOKIE}}},
                    "400": _error("INVALID_REQUEST: no code, or a parameter given twice"),
                    "401": _error("INVALID_ID_TOKEN (the code or the ID token was refused) "
                                  "or SIGN_IN_REFUSED (the provider answered an error, "
                                  "in provider_error)"),
                    "403": _error("INVALID_STATE: not this browser's sign-in, expired or "
                                  "used already; or NOT_A_MEMBER: in no workspace here"),
                    "404": disabled,
                    "503": {**_error("IDENTITY_PROVIDER_UNAVAILABLE"),
                            "headers": _RETRY_AFTER},
                },
            },
        },
    }  # fmt: skip


def build_openapi(server_url: str | None = None) -> dict[str, Any]:
    requests = (
        CreateUrl, BulkCreate, UpdateUrl, Unlock, CreateApiKey, CreateSession,
        CreateWorkspace, UpdateWorkspace, PutMember, PreviewVisitor,
    )  # fmt: skip
    components = {
        **_schemas((*RESPONSE_MODELS, Error), "serialization"),
        **_schemas(requests, "validation"),
    }
    constrain(components)
    for request in ("CreateUrl", "UpdateUrl"):
        components[request]["properties"].update(LINK_OPTIONS)
    components["PreviewVisitor"]["properties"] = VISITOR
    paths: dict[str, Any] = {
        "/v1/urls": {
            "post": {
                "operationId": "create_url",
                "summary": "Shorten a URL (optionally with alias, expiry, password)",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": _body(CreateUrl),
                "responses": {
                    "201": _json("Link", "Created", _CREATE_HEADERS),
                    "409": _error("ALIAS_TAKEN, with free suggestions"),
                    "422": _error("IDEMPOTENCY_KEY_REUSED: the key was used with another body"),
                    **_CREATE_ERRORS,
                },
            },
            "get": {
                "operationId": "list_urls",
                "summary": "Your links: searched, filtered, sorted, a page at a time",
                "parameters": [
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                                "default": 20}},
                    {"name": "cursor", "in": "query", "schema": CURSOR},
                    {"name": "q", "in": "query",
                     "schema": {**STORABLE, "maxLength": MAX_SEARCH_LENGTH},
                     "description": "Text found anywhere in the code or the target, any case"},
                    {"name": "status", "in": "query",
                     "schema": {"type": "string", "enum": list(STATUSES), "default": "all"},
                     "description": "active: enabled and not expired; expired; inactive "
                                    "(deactivated); protected: has a password"},
                    {"name": "sort", "in": "query",
                     "schema": {"type": "string", "enum": list(SORTS), "default": "-created_at"},
                     "description": "'-' for descending"},
                    {"name": "tag", "in": "query",
                     "schema": {**STORABLE, "maxLength": MAX_TAG_LENGTH},
                     "description": "Only links carrying this tag (any case)"},
                    {"name": "folder", "in": "query",
                     "schema": {**STORABLE, "maxLength": MAX_FOLDER_LENGTH},
                     "description": "Only links in this folder or one below it"},
                    {"name": "include", "in": "query",
                     "schema": {"type": "string", "enum": ["clicks"]},
                     "description": "clicks: the page's click counts (all time and the last "
                                    "7 UTC days) in LinkPage.clicks"},
                ],
                "responses": {"200": _json("LinkPage", "A page of links"),
                              "400": _error("Bad limit, cursor, q, status, sort, tag, folder "
                                            "or include"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/urls/bulk": {
            "post": {
                "operationId": "create_urls_bulk",
                "summary": "Shorten up to 1000 URLs in one transaction",
                "description": "Any invalid item: 400 INVALID_URLS listing every bad item, "
                               "nothing created. With dry_run=true nothing is created either "
                               "way: taken aliases are reported as ALIAS_TAKEN items too.",
                "parameters": [
                    {"name": "dry_run", "in": "query",
                     "schema": {"type": "string", "enum": ["true", "false", "1", "0"],
                                "default": "false"},
                     "description": "Only check the items (200 BulkCheck or 400)"},
                    {**_IDEMPOTENCY_KEY, "description": _IDEMPOTENCY_TEXT
                     + " Per whole request; ignored with dry_run."},
                ],
                "requestBody": _body(BulkCreate),
                "responses": {"201": _json("BulkResult", "Created", _CREATE_HEADERS),
                              "422": _error("IDEMPOTENCY_KEY_REUSED: the key was used with "
                                            "another body"),
                              "200": _json("BulkCheck", "dry_run: every item would be created",
                                           _RATE_HEADERS),
                              "409": _error("dry_run: ALIAS_TAKEN, invalid_urls lists the "
                                            "items whose alias is taken, with suggestions"),
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
                              "404": _error("No such link of yours"),
                              "409": _error(_MANAGED), "503": _error(_NOT_CHANGED),
                              **_AUTH_ERRORS},
            },
            "delete": {
                "operationId": "delete_url",
                "summary": "Delete a link (its code is never reused)",
                "responses": {"204": {"description": "Deleted"},
                              "404": _error("No such link of yours"),
                              "409": _error(_MANAGED), "503": _error(_NOT_CHANGED),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/urls/{code}/stats": {
            "parameters": [_CODE],
            "get": {
                "operationId": "url_stats",
                "summary": "Click stats of one of your links: totals, series, breakdowns",
                "description": _STATS_DESCRIPTION,
                "parameters": [*_STATS_RANGE, *_STATS_VIEW],
                "responses": {**_STATS_ANSWERS, "404": _error("No such link of yours")},
            },
        },
        "/v1/urls/{code}/stats/realtime": {
            "parameters": [_CODE],
            "get": {
                "operationId": "url_realtime",
                "summary": "One of your links' clicks in the last 30 minutes, per minute",
                "parameters": _STATS_VIEW,
                "responses": {**_STATS_ANSWERS, "404": _error("No such link of yours")},
            },
        },
        "/v1/urls/{code}/clicks": {
            "parameters": [_CODE],
            "delete": {
                "operationId": "erase_url_clicks",
                "summary": "Erase one of your links' stored clicks: all, or whole UTC days",
                "description": _ERASURE_DESCRIPTION,
                "parameters": _ERASURE_RANGE,
                "responses": {"204": {"description": "Erased"},
                              "400": _error("INVALID_REQUEST: a bound not a UTC midnight "
                                            "(or not 1970-2106), 'to' not after 'from'"),
                              "404": _error("No such link of yours"),
                              "503": _error("ClickHouse unreachable: nothing or part erased, "
                                            "retry"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/workspace/clicks": {
            "delete": {
                "operationId": "erase_workspace_clicks",
                "summary": "Erase the stored clicks of every link of your workspace: all, "
                           "or whole UTC days",
                "description": _ERASURE_DESCRIPTION,
                "parameters": _ERASURE_RANGE,
                "responses": {"204": {"description": "Erased"},
                              "400": _error("INVALID_REQUEST: a bound not a UTC midnight "
                                            "(or not 1970-2106), 'to' not after 'from'"),
                              "503": _error("ClickHouse unreachable: nothing or part erased, "
                                            "retry"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/stats": {
            "get": {
                "operationId": "workspace_stats",
                "summary": "Click stats of every link of your workspace together; 'links' "
                           "ranks them",
                "description": _STATS_DESCRIPTION,
                "parameters": [*_STATS_RANGE, *_STATS_VIEW],
                "responses": _STATS_ANSWERS,
            },
        },
        "/v1/stats/realtime": {
            "get": {
                "operationId": "workspace_realtime",
                "summary": "Your workspace's clicks in the last 30 minutes, per minute",
                "parameters": _STATS_VIEW,
                "responses": _STATS_ANSWERS,
            },
        },
        "/v1/urls/{code}/qr": {
            "parameters": [_CODE],
            "get": {
                "operationId": "url_qr",
                "summary": "The short URL of one of your links as a QR code (black on white)",
                "parameters": [
                    {"name": "format", "in": "query",
                     "schema": {"type": "string", "enum": ["svg", "png"], "default": "svg"}},
                    {"name": "size", "in": "query",
                     "schema": {"type": "integer", "minimum": MIN_SIZE, "maximum": MAX_SIZE,
                                "default": DEFAULT_SIZE},
                     "description": "Width in pixels the image fits in (whole pixels per "
                                    "module, 4-module quiet zone)"},
                ],
                "responses": {
                    "200": {"description": "The image",
                            "content": {"image/svg+xml": {"schema": {"type": "string"}},
                                        "image/png": {"schema": {"type": "string",
                                                                 "format": "binary"}}}},
                    "400": _error("Bad format or size"),
                    "404": _error("No such link of yours"), **_AUTH_ERRORS},
            },
        },
        "/v1/aliases/{alias}": {
            "parameters": [{"name": "alias", "in": "path", "required": True,
                            "schema": {k: v for k, v in ALIAS.items() if k != "description"},
                            "description": ALIAS["description"]}],
            "get": {
                "operationId": "alias_availability",
                "summary": "Is this custom alias free right now? (suggestions if not)",
                "responses": {"200": _json("AliasAvailability", "The answer"),
                              "400": _error("INVALID_ALIAS: malformed or reserved"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/sessions": {
            "post": {
                "operationId": "create_session",
                "summary": "Sign a browser in with an API key",
                "description": "Sets the session cookie (HttpOnly, SameSite=Strict; Secure "
                               "over https). Requests with the cookie act as the key; those "
                               "that change state must send the csrf_token as X-CSRF-Token "
                               "and come from this origin. A cross-site Origin is refused.",
                "security": [],
                "requestBody": _body(CreateSession),
                "responses": {
                    "201": {**_json("Session", "Signed in"),
                            "headers": {"Set-Cookie": {"schema": {"type": "string"},
                                                       "description": "shortlink_session"}}},
                    "400": _error("Bad body"),
                    "401": _error("The API key is invalid or revoked"),
                    "403": _error("CSRF_FAILED: cross-site sign-in"),
                },
            },
            "get": {
                "operationId": "get_session",
                "summary": "The current browser session (and its CSRF token)",
                "security": [{"sessionCookie": []}],
                "responses": {"200": _json("Session", "Signed in"),
                              "401": _error("No session, or it ended")},
            },
            "delete": {
                "operationId": "delete_session",
                "summary": "Sign out: ends the session and clears the cookie",
                "security": [{}, {"sessionCookie": []}],  # no cookie: nothing to end, 204
                "responses": {"204": {"description": "Signed out (also when not signed in)"},
                              "403": _error("CSRF_FAILED: missing X-CSRF-Token or "
                                            "foreign Origin")},
            },
        },
        "/v1/urls/{code}/preview": {
            "parameters": [_CODE],
            "post": {
                "operationId": "preview_url",
                "summary": "What one of your links would answer a visitor you describe "
                           "(rules, A/B variant, schedule; the click budget aside)",
                "requestBody": _body(PreviewVisitor),
                "responses": {"200": _json("Preview", "The redirector's answer"),
                              "400": _error("A visitor fact that can't be"),
                              "404": _error("No such link of yours"), **_AUTH_ERRORS},
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
                    "400": _error("Bad body"),
                    "401": _error("INVALID_PASSWORD, with attempts_remaining"),
                    "404": _error("No such link"),
                    "409": _error("NOT_PASSWORD_PROTECTED: the link has no password"),
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
                              "400": _error("Bad body, or no owner for an admin's non-admin key"),
                              "403": _error("Not allowed"),
                              "429": _error("RATE_LIMIT_EXCEEDED: keys minted by a "
                                            "non-admin key, per workspace"),
                              **_AUTH_ERRORS},
            },
        },
        "/v1/api-keys/{key_id}": {
            "parameters": [{"name": "key_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "format": "int64", "minimum": 1,
                                       "maximum": 2**63 - 1}}],
            "delete": {
                "operationId": "revoke_api_key",
                "summary": "Revoke a key, and every key it minted (transitively)",
                "description": "Non-admin keys revoke only their owner's non-admin keys; an "
                               "admin key is 404 to them.",
                "responses": {"200": _json("RevokedApiKey", "Revoked"),
                              "404": _error("No such key (of yours)"), **_AUTH_ERRORS},
            },
        },
        **_workspace_paths(),
        **_oidc_paths(),
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
    _add_common_errors(paths)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Shortlink API",
            "version": VERSION,
            "description": "Create and manage short links. Errors are JSON: "
            '{"error": CODE, "message": ...}.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer"},
                "serviceAccountToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Kubernetes ServiceAccount's projected token for the "
                    "audience SHORTLINK_SERVICE_ACCOUNT_AUDIENCE, reviewed by "
                    "the API server (TokenReview); the account acts with the "
                    "role SHORTLINK_SERVICE_ACCOUNT_ROLES gives it (403 "
                    "NOT_A_MEMBER: none; 503 KUBERNETES_UNAVAILABLE: the API "
                    "server did not answer).",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": "A browser signed in with an API key (POST /v1/sessions) "
                    "or with single sign-on (/v1/oidc/login). A person "
                    "acts in the workspace named by X-Shortlink-Workspace, "
                    "else in the first of theirs by slug.",
                },
            },
        },
        "security": [{"apiKey": []}, {"sessionCookie": []}, {"serviceAccountToken": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
