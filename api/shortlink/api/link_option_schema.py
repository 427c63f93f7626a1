# ruff: noqa: E501  (schema tables read best one rule a line)
"""The link-options document (docs/link-rules.md) as JSON Schema, for the OpenAPI
document. Built from the domain's own constants, so caps and value sets can't drift
from what ``link_option_parsing`` enforces. What JSON Schema can't say (ids unique
within their list, windows that don't overlap, from before until, valid_from before
expires_at, a real IANA zone beyond the names listed here) is in the descriptions;
the server refuses those with 400 INVALID_LINK_OPTION naming the field path."""

from __future__ import annotations

import zoneinfo
from typing import Any

from shortlink.api.request_constraints import END, INSTANT, TARGET_URL
from shortlink.domain.countries import COUNTRY_CODES
from shortlink.domain.link_options import (
    BROWSERS,
    DAYS,
    MAX_CLICKS,
    MAX_FOLDER_LENGTH,
    MAX_ID_LENGTH,
    MAX_PARAM_KEY,
    MAX_PARAM_VALUE,
    MAX_QUERY_CONDITIONS,
    MAX_QUERY_PARAMS,
    MAX_RULES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    MAX_VALUES,
    MAX_VARIANTS,
    MAX_WEIGHT,
    MAX_WINDOWS,
    MIN_VARIANTS,
    OPERATING_SYSTEMS,
    UTM_FIELDS,
)
from shortlink.domain.visitors import DEVICE_TYPES


def _text(least: int, most: int, meaning: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": least,
        "maxLength": most,
        "pattern": rf"^[^\u0000-\u001f\u007f-\u009f]*{END}",
    }
    if meaning:
        schema["description"] = meaning
    return schema


def _set(values: Any, most: int, meaning: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": values,
        "minItems": 1,
        "maxItems": most,
        "description": meaning,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_ID = {"type": "string", "pattern": rf"^[a-z0-9_-]{{1,{MAX_ID_LENGTH}}}{END}"}
_CLOCK = {
    "type": "string",
    "pattern": rf"^(?:[01][0-9]:[0-5][0-9]|2[0-3]:[0-5][0-9]|24:00){END}",
    "description": "HH:MM local wall clock, 00:00 to 24:00",
}
_WINDOW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["start", "end"],
    "properties": {
        "days": {"type": "array", "items": {"enum": list(DAYS)}, "minItems": 1, "maxItems": 7,
                 "description": "Default: every day"},
        "start": _CLOCK,
        "end": _CLOCK,
    },
    "description": "start before end on the same day (not empty, not across midnight)",
}  # fmt: skip
_TIME = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "time_zone": {"enum": sorted(zoneinfo.available_timezones()),
                      "description": "IANA time zone of the windows; default UTC"},
        "from": {**INSTANT, "description": "Inclusive; before until"},
        "until": {**INSTANT, "description": "Exclusive"},
        "windows": {"type": "array", "items": _WINDOW, "maxItems": MAX_WINDOWS,
                    "description": "Windows sharing a day must not overlap"},
    },
    "anyOf": [{"required": ["from"]}, {"required": ["until"]},
              {"required": ["windows"], "properties": {"windows": {"minItems": 1}}}],
    "description": "At least one of from, until, windows",
}  # fmt: skip
_LANGUAGE = {
    "type": "string",
    "pattern": rf"^[a-zA-Z]{{2,3}}(?:-[a-zA-Z0-9]{{1,8}})*{END}",
    "maxLength": 35,
}
_HOST = {
    "type": "string",
    "pattern": rf"^(?:[a-z0-9-]{{1,63}}\.)*[a-z0-9-]{{1,63}}{END}",
    "maxLength": 253,
}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros: they're refused
# An IPv6 address with "::" (how networks are written back: 2001:db8::/32) or all 8 groups.
_IPV6 = (
    r"(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?)"
)
_CIDR = {
    "type": "string",
    "anyOf": [{"format": "ipv4"}, {"format": "ipv6"},
              {"pattern": rf"^(?:{_OCTET}\.){{3}}{_OCTET}/(?:[0-9]|[12][0-9]|3[0-2]){END}"},
              {"pattern": rf"^{_IPV6}/(?:[0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]){END}"}],
    "description": "An IP address or CIDR (IPv4 or IPv6), e.g. 192.0.2.0/24",
}  # fmt: skip
CONDITIONS = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "description": "All given conditions must hold; within one, any listed value. "
    "No regular expressions anywhere (ReDoS).",
    "properties": {
        "country": _set({"enum": sorted(COUNTRY_CODES)}, len(COUNTRY_CODES), "ISO 3166-1 alpha-2 (GeoIP)"),
        "city": _set(_text(1, 100), MAX_VALUES, "GeoIP English city name, any case"),
        "device": _set({"enum": list(DEVICE_TYPES)}, len(DEVICE_TYPES), "Device type"),
        "os": _set({"enum": list(OPERATING_SYSTEMS)}, len(OPERATING_SYSTEMS), "Operating system"),
        "browser": _set({"enum": list(BROWSERS)}, len(BROWSERS), "Browser"),
        "language": _set(_LANGUAGE, MAX_VALUES, "The visitor's most preferred language "
                         "(highest q) is covered: 'de' covers de-AT"),
        "query": _set(
            {"type": "object", "additionalProperties": False, "required": ["param"],
             "properties": {"param": _text(1, MAX_PARAM_KEY), "equals": _text(0, MAX_PARAM_VALUE)}},
            MAX_QUERY_CONDITIONS, "Each parameter present (or equal to a value)"),
        "ip": _set(_CIDR, MAX_VALUES, "Client IP in one of these networks"),
        "referrer_host": _set(_HOST, MAX_VALUES, "Referer host or a subdomain of it"),
        "time": _TIME,
    },
}  # fmt: skip
VARIANTS = {
    "type": "array",
    "minItems": MIN_VARIANTS,
    "maxItems": MAX_VARIANTS,
    "description": "Weighted A/B split, sticky per visitor; ids unique (default a, b, ...)",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["target", "weight"],
        "properties": {
            "id": _ID,
            "target": TARGET_URL,
            "weight": {"type": "integer", "minimum": 1, "maximum": MAX_WEIGHT},
        },
    },
}
_REDIRECT = {"anyOf": [{"enum": [301, 302, 307, 308]}, {"type": "null"}],
             "description": "Default: the link's own"}  # fmt: skip
RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["conditions", "action"],
    "properties": {
        "id": {**_ID, "description": "Unique among the rules; default rule-<position>"},
        "conditions": CONDITIONS,
        "action": {
            "oneOf": [
                {"type": "object", "additionalProperties": False, "required": ["target"],
                 "properties": {"target": TARGET_URL, "redirect_type": _REDIRECT}},
                {"type": "object", "additionalProperties": False, "required": ["variants"],
                 "properties": {"variants": VARIANTS, "redirect_type": _REDIRECT}},
            ]
        },
    },
}  # fmt: skip
_UTM_KEYS = "|".join(UTM_FIELDS)
# [] is no split, as a link shows it: a document read back is a document to send.
_VARIANTS_OR_NONE = {"anyOf": [VARIANTS, {"type": "array", "maxItems": 0}]}
PROPERTIES: dict[str, dict[str, Any]] = {
    "rules": _nullable({"type": "array", "items": RULE, "maxItems": MAX_RULES,
                        "description": f"Evaluated in order, first match wins; at most {MAX_RULES}"}),
    "variants": _nullable(_VARIANTS_OR_NONE),
    "max_clicks": _nullable({"type": "integer", "minimum": 1, "maximum": MAX_CLICKS,
                             "description": "Human GET redirects served, exactly across pods; "
                             "then the exhausted fallback, else 410"}),
    "valid_from": _nullable({**INSTANT, "description": "Before it: the not_yet fallback, else "
                             "404; must be before expires_at"}),
    "fallbacks": _nullable({
        "type": "object", "additionalProperties": False,
        "properties": {k: _nullable(TARGET_URL) for k in ("not_yet", "expired", "exhausted")},
    }),
    "utm": _nullable({"type": "object", "additionalProperties": False,
                      "properties": {k: _nullable(_text(1, MAX_PARAM_VALUE)) for k in UTM_FIELDS}}),
    "query_params": _nullable({
        "type": "object", "maxProperties": MAX_QUERY_PARAMS,
        "propertyNames": {**_text(1, MAX_PARAM_KEY),
                          "pattern": rf"^(?!utm_(?:{_UTM_KEYS}){END})[^\u0000-\u001f\u007f-\u009f]*{END}"},
        "additionalProperties": _text(0, MAX_PARAM_VALUE),
        "description": "Appended to every target (utm_* keys go in utm); the target's own keys win",
    }),
    "pass_query": _nullable({"type": "boolean", "description": "Append the visitor's query "
                             "(never over the link's or target's keys)"}),
    "tags": _nullable({"type": "array", "maxItems": MAX_TAGS,
                       "items": {**_text(1, MAX_TAG_LENGTH), "pattern": rf"^[^\u0000-\u0020\u007f-\u009f]"
                                 rf"[^\u0000-\u001f\u007f-\u009f]*{END}"},
                       "description": "Case-insensitive (stored lower case)"}),
    "folder": _nullable({**_text(1, MAX_FOLDER_LENGTH), "pattern": rf"^[^/\u0000-\u0020\u007f-\u009f]"
                         rf"(?:[^/\u0000-\u001f\u007f-\u009f]|/(?!/))*(?<![/ ]){END}",
                         "description": "One folder, e.g. marketing/2026"}),
}  # fmt: skip


def _response(schema: dict[str, Any]) -> dict[str, Any]:
    """A request schema as responses show it: the value, not null (lists and objects
    are empty when unset)."""
    return schema["anyOf"][0] if "anyOf" in schema else schema


# The Link response's option fields: always present.
RESPONSE_PROPERTIES: dict[str, dict[str, Any]] = {
    **PROPERTIES,
    "rules": _response(PROPERTIES["rules"]),
    "variants": _VARIANTS_OR_NONE,
    "fallbacks": _response(PROPERTIES["fallbacks"]),
    "utm": _response(PROPERTIES["utm"]),
    "query_params": _response(PROPERTIES["query_params"]),
    "pass_query": _response(PROPERTIES["pass_query"]),
    "tags": _response(PROPERTIES["tags"]),
}


def _optional(schema: dict[str, Any], meaning: str) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], "description": meaning}


# POST /v1/urls/{code}/preview: a made-up visitor (domain/visitor_preview.py).
VISITOR: dict[str, dict[str, Any]] = {
    "country": _optional({"enum": ["", *sorted(COUNTRY_CODES)]}, "ISO 3166-1 alpha-2; '' unknown"),
    "city": _optional(_text(0, 100), "GeoIP English city name"),
    "device": _optional({"enum": list(DEVICE_TYPES)}, "Default desktop"),
    "os": _optional({"enum": list(OPERATING_SYSTEMS)}, "Default other"),
    "browser": _optional({"enum": list(BROWSERS)}, "Default other"),
    "accept_language": _optional(_text(0, 512), "An Accept-Language header, e.g. 'de-DE,de;q=0.9'"),
    "query": _optional({"type": "object", "maxProperties": 20,
                        "additionalProperties": _text(0, 500)}, "The visitor's query parameters"),
    "ip": _optional({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]},
                    "Client IP: the ip conditions, and with user_agent the A/B bucket"),
    "referrer": _optional(_text(0, 512), "The Referer URL"),
    "user_agent": _optional(_text(0, 512), "With ip, picks the A/B variant that visitor gets"),
    "at": _optional(INSTANT, "When (default now): the time conditions and the schedule"),
}  # fmt: skip
