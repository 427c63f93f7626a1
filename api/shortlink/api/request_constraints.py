"""What the server enforces on each request field, written as JSON Schema for the
OpenAPI document (api/openapi.py applies it over the pydantic-generated shapes).

Pydantic checks shapes and types; the domain checks meaning, with its own error
codes. These schemas state the domain's rules, so a request the document calls
valid is accepted and one it calls invalid is refused. Patterns end in
``(?![\\s\\S])`` rather than ``$``: in Python's re (and so in generators built on
it) ``$`` also matches before a final newline, which the server refuses.
"""

from __future__ import annotations

from typing import Any

from shortlink.domain.aliases import MAX_LENGTH, MIN_LENGTH, RESERVED
from shortlink.domain.click_erasure import MAX_CLICK_RETENTION_DAYS
from shortlink.domain.cursors import CURSOR_PATTERN
from shortlink.domain.expiry import CLOCK, MONTH_DAY, QUERY_INSTANT, UTC_OFFSET
from shortlink.domain.passwords import MAX_PASSWORD_CHARS
from shortlink.domain.stats_request import FIRST_YEAR, LAST_YEAR, STATS_YEAR
from shortlink.domain.urls import MAX_URL_LENGTH
from shortlink.domain.workspaces import MEMBER_PATTERN, ROLE_LABELS, SLUG_PATTERN
from shortlink.http.limits import Limits
from shortlink.services.bulk_links import MAX_BULK_ITEMS

END = r"(?![\s\S])"

# The API's sizes. Body: a 1,000-item bulk of 2,048-character URLs with aliases,
# passwords and expiries is about 2.3 MB of JSON. Request line and headers: 16 KiB,
# Sanic's ceiling; URL: 12 KiB of it, so that a stats query with an oversized
# filter value (the issue's 10 kB one) reaches the handler and is answered 400
# INVALID_FILTER naming the parameter, instead of a bare 414/431 from the wire.
API_LIMITS = Limits(body_bytes=4 * 1024 * 1024, url_bytes=12 * 1024, header_bytes=16 * 1024)

# Text PostgreSQL can store (shortlink.domain.text): no NUL, and no unpaired
# surrogate, which JSON can escape (\\ud800) but the pattern can't name (regex
# engines on Unicode scalar values refuse surrogates in a class).
STORABLE = {
    "type": "string",
    "pattern": rf"^[^\u0000]*{END}",
    "description": "No NUL (\\u0000) and no unpaired surrogate",
}


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


_RESERVED_WORDS = "|".join(_any_case(w) for w in sorted(RESERVED) if w.isalnum())
ALIAS = {
    "type": "string",
    "minLength": MIN_LENGTH,
    "maxLength": MAX_LENGTH,
    "pattern": rf"^(?!(?:{_RESERVED_WORDS}){END})[a-zA-Z0-9_-]{{{MIN_LENGTH},{MAX_LENGTH}}}{END}",
    "description": f"{MIN_LENGTH}-{MAX_LENGTH} of [a-zA-Z0-9_-]; not a reserved word "
    f"({', '.join(sorted(RESERVED))}, any case)",
}

# A code as stored: generated (7 base62 characters) or an alias. Anything else is
# answered 404 without a lookup.
CODE = {"type": "string", "pattern": rf"^[a-zA-Z0-9_-]{{1,{MAX_LENGTH}}}{END}"}

_LABEL = r"[a-zA-Z0-9]{1,20}(?:-[a-zA-Z0-9]{1,20}){0,2}"
_TOP_LABEL = r"[a-zA-Z][a-zA-Z0-9]{0,19}"
# A URI character of a path, query or fragment; '%' only as an escape (two hex digits).
_URI_CHARS = r"(?:[-A-Za-z0-9._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})"
TARGET_URL = {
    "type": "string",
    "maxLength": MAX_URL_LENGTH,
    "pattern": (
        rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_LABEL}\.){{0,3}}{_TOP_LABEL}(?::[1-9][0-9]{{0,3}})?"
        rf"(?:/{_URI_CHARS}*)?(?:#{_URI_CHARS}*)?{END}"
    ),
    "description": "An http(s) URL of at most 2048 characters: a domain name (IDNA "
    "allowed; not this shortener's own domain nor a blocked one), no credentials, no "
    "whitespace, control characters or backslashes. The pattern is the ASCII form.",
}

_DATE = r"(?:2[1-9]|[3-8][0-9]|9[0-8])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
FUTURE_INSTANT = {
    "type": "string",
    "pattern": rf"^{_DATE}(?:T{CLOCK}{UTC_OFFSET}?)?{END}",
    "description": "An ISO 8601 date or date-time in the future (UTC when no offset "
    "is given). The pattern shows the form, from the year 2100 on (always future).",
}

INSTANT = {"type": "string", "pattern": rf"^{QUERY_INSTANT.pattern}{END}"}
# A stats range: the years clicks can be kept for (domain.stats_request).
STATS_INSTANT = {
    "type": "string",
    "pattern": rf"^{STATS_YEAR}{MONTH_DAY}(?:T{CLOCK}{UTC_OFFSET}?)?{END}",
    "description": f"ISO 8601 date or date-time (UTC when no offset is given), in the years "
    f"{FIRST_YEAR}-{LAST_YEAR}",
}

# A bound of a click erasure: a UTC midnight (domain.click_erasure), as a date or an instant.
ERASURE_BOUND = {
    "type": "string",
    "pattern": (
        rf"^{STATS_YEAR}{MONTH_DAY}(?:T00:00(?::00(?:\.000|\.000000)?)?(?:Z|[+-]00:00)?)?{END}"
    ),
    "description": f"A date, or an ISO 8601 instant at a UTC midnight, in the years "
    f"{FIRST_YEAR}-{LAST_YEAR}",
}

PASSWORD = {
    **STORABLE,
    "minLength": 1,
    "maxLength": MAX_PASSWORD_CHARS,
    "description": f"1-{MAX_PASSWORD_CHARS} characters; visitors must enter it",
}

REDIRECT_TYPE = {"type": "integer", "enum": [301, 302, 307, 308], "default": 302}

CURSOR = {
    "type": "string",
    "pattern": f"^{CURSOR_PATTERN.pattern}{END}",
    "description": "next_cursor of the previous page (same q, status, sort): "
    "'<microseconds since the epoch>.<code>'",
}


# A workspace member's e-mail address (shortlink.domain.workspaces.MEMBER_PATTERN).
MEMBER = {"type": "string", "pattern": f"^{MEMBER_PATTERN.pattern}{END}"}
# Free text the server strips: not blank.
_NAME = {**STORABLE, "minLength": 1, "maxLength": 200, "description": "Not blank; no NUL",
         "pattern": rf"^(?=[\s\S]*\S)[^\u0000]*{END}"}  # fmt: skip


def _nullable(schema: dict[str, Any], meaning: str) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], "description": meaning}


# Model → property → schema, replacing what pydantic generated.
PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {
    "CreateUrl": {
        "original_url": TARGET_URL,
        "custom_alias": _nullable(ALIAS, "A custom code; a generated 7-character code when "
                                  "absent or null"),
        "expires_at": _nullable(FUTURE_INSTANT, "When the link stops working; never when null"),
        "password": _nullable(PASSWORD, "Visitors must enter it; none when null"),
        "redirect_type": REDIRECT_TYPE,
    },
    "UpdateUrl": {
        # null clears expiry and password; the other fields take a value or stay out.
        "original_url": TARGET_URL,
        "expires_at": _nullable(FUTURE_INSTANT, "null: never expires"),
        "password": _nullable(PASSWORD, "null: removes the password"),
        "is_active": {"type": "boolean"},
        "redirect_type": {k: v for k, v in REDIRECT_TYPE.items() if k != "default"},
    },
    "Unlock": {"password": {**STORABLE, "description": "The link's password"}},
    "CreateApiKey": {
        "name": {**STORABLE, "minLength": 1, "maxLength": 100},
        "owner": _nullable({**STORABLE, "minLength": 1, "maxLength": 200},
                           "The workspace: admins only for another one (made if missing; a "
                           "new one's slug as for POST /v1/workspaces); default (or null): "
                           "your own"),
        "role": _nullable({"type": "string", "enum": list(ROLE_LABELS)},
                          "At most your own; default (or null): your role, or admin for a "
                          "key an admin key mints for another workspace"),
    },
    "CreateSession": {"api_key": {**STORABLE, "minLength": 1, "maxLength": 200,
                                  "description": "Your API key"}},
    "CreateWorkspace": {
        "slug": {"type": "string", "pattern": f"^{SLUG_PATTERN.pattern}{END}",
                 "description": "1-63 of a-z, 0-9 and '-', not starting or ending with '-'"},
        "name": _NAME,
    },
    "UpdateWorkspace": {
        "name": _NAME,
        "audit_retention_days": {"type": "integer", "minimum": 1, "maximum": 3650,
                                 "description": "Owners only"},
        "click_retention_days": _nullable(
            {"type": "integer", "minimum": 0, "maximum": MAX_CLICK_RETENTION_DAYS},
            "Owners only: stored clicks older than this many whole UTC days are erased "
            "(daily sweep); 0 keeps every click; null: unchanged"),
    },
    "PutMember": {"role": {"type": "string", "enum": list(ROLE_LABELS)}},
}  # fmt: skip

PROPERTIES["BulkCreate"] = {
    "urls": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/CreateUrl"},
        "minItems": 1,
        "maxItems": MAX_BULK_ITEMS,
        "description": f"1 to {MAX_BULK_ITEMS} links, each as for POST /v1/urls (an alias "
        "given twice: INVALID_URLS)",
    }
}

# Whole-object rules.
OBJECT_RULES: dict[str, dict[str, Any]] = {
    "UpdateUrl": {"minProperties": 1},
    "UpdateWorkspace": {"minProperties": 1},
}


def constrain(components: dict[str, Any]) -> None:
    """Lay PROPERTIES and OBJECT_RULES over the generated request schemas."""
    for model, properties in PROPERTIES.items():
        schema = components[model]
        for name, rule in properties.items():
            generated = schema["properties"][name]
            schema["properties"][name] = dict(rule)
            # Keep the model's default where it is one of the values the rule allows.
            keep = "default" in generated and "default" not in rule
            if keep and (generated["default"] is not None or "anyOf" in rule):
                schema["properties"][name]["default"] = generated["default"]
        schema.update(OBJECT_RULES.get(model, {}))
