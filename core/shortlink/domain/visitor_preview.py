"""A made-up visitor for "what would this visitor get": the facts a link maker picks
(country, device, language, time, ...) as the evaluator's ``VisitorFacts``.

The same facts the redirector works out from a request, given outright; the A/B
bucket comes from the same keyed hash, so the preview names the variant that very
visitor (IP network and user agent) would get.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shortlink.domain.accept_language import preferred_languages
from shortlink.domain.countries import COUNTRY_CODES
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.expiry import parse_instant
from shortlink.domain.link_options import BROWSERS, OPERATING_SYSTEMS
from shortlink.domain.routing import VisitorFacts
from shortlink.domain.text import is_storable
from shortlink.domain.visitors import DEVICE_TYPES, anonymize_ip, referrer_host, sticky_key

FIELDS = (
    "country", "city", "device", "os", "browser", "accept_language", "query", "ip",
    "referrer", "user_agent", "at",
)  # fmt: skip
MAX_TEXT = 512


def _fail(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", field=field)


def _text(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field)
    if value is None:
        return ""
    if not isinstance(value, str) or not is_storable(value) or len(value) > MAX_TEXT:
        raise _fail(field, f"must be a string of at most {MAX_TEXT} characters")
    return value


def _one_of(raw: Mapping[str, Any], field: str, allowed: tuple[str, ...], default: str) -> str:
    value = _text(raw, field) or default
    if value not in allowed:
        raise _fail(field, f"must be one of {', '.join(allowed)}")
    return value


def parse_preview(
    raw: Mapping[str, Any], code: str, salt: bytes, now: datetime
) -> tuple[VisitorFacts, float]:
    """(the visitor, the moment in epoch seconds: ``at`` or ``now``)."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise _fail(unknown[0], f"is not a visitor fact (allowed: {', '.join(FIELDS)})")
    country = _text(raw, "country")
    if country and country not in COUNTRY_CODES:
        raise _fail("country", f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    ip = _text(raw, "ip")
    try:
        address = ipaddress.ip_address(ip) if ip else None
    except ValueError:
        raise _fail("ip", f"{ip!r} is not an IP address") from None
    query = raw.get("query") or {}
    if not isinstance(query, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in query.items()
    ):
        raise _fail("query", "must be an object of parameter names to string values")
    at = _text(raw, "at")
    try:
        moment = parse_instant(at).timestamp() if at else now.timestamp()
    except ValueError:
        raise _fail("at", "must be an ISO 8601 date-time, e.g. 2030-01-01T09:30:00Z") from None
    user_agent = _text(raw, "user_agent")
    facts = VisitorFacts(
        country=country,
        city=_text(raw, "city").strip().casefold(),
        device=_one_of(raw, "device", tuple(DEVICE_TYPES), "desktop"),
        os=_one_of(raw, "os", OPERATING_SYSTEMS, "other"),
        browser=_one_of(raw, "browser", BROWSERS, "other"),
        languages=preferred_languages(_text(raw, "accept_language")),
        query=dict(query),
        ip=address,
        referrer_host=referrer_host(_text(raw, "referrer")),
        sticky=sticky_key(code, anonymize_ip(ip), user_agent, salt),
    )
    return facts, moment
