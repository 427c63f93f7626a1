"""The link-options document (API body, ShortLink spec, stored JSON) → ``LinkOptions``.

Every refusal is an ``InvalidLinkOption`` naming the exact field path
(``rules[2].conditions.country``) and saying what to fix; nothing is parsed
"best effort". Targets and fallbacks pass the same URL validation (blocklist, own
domains) as a link's own target.
"""

from __future__ import annotations

import ipaddress
import unicodedata
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from shortlink.domain.countries import COUNTRY_CODES
from shortlink.domain.errors import InvalidLinkOption, InvalidUrl
from shortlink.domain.expiry import parse_instant
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
    MINUTES_PER_DAY,
    OPERATING_SYSTEMS,
    UTM_FIELDS,
    Action,
    Conditions,
    Fallbacks,
    LinkOptions,
    Network,
    QueryCondition,
    Rule,
    TimeCondition,
    Variant,
    Window,
)
from shortlink.domain.links import REDIRECT_TYPES
from shortlink.domain.query_merge import append_params
from shortlink.domain.text import is_storable
from shortlink.domain.urls import UrlPolicy, validate_target_url
from shortlink.domain.visitors import DEVICE_TYPES

T = TypeVar("T")
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_RULE_KEYS = frozenset({"id", "conditions", "action"})
_ACTION_KEYS = frozenset({"target", "variants", "redirect_type"})
_VARIANT_KEYS = frozenset({"id", "target", "weight"})
_TIME_KEYS = frozenset({"time_zone", "from", "until", "windows"})
_WINDOW_KEYS = frozenset({"days", "start", "end"})
_FALLBACK_KEYS = ("not_yet", "expired", "exhausted")


def _fail(path: str, message: str) -> InvalidLinkOption:
    return InvalidLinkOption(path, message)


def _object(raw: object, path: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(path, "must be an object")
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise _fail(f"{path}.{unknown[0]}", f"is not a field here (allowed: {sorted(allowed)})")
    return raw


def _list(raw: object, path: str, most: int, least: int = 1) -> list[Any]:
    if not isinstance(raw, list):
        raise _fail(path, "must be a list")
    if len(raw) < least:
        raise _fail(path, f"must have at least {least} item{'s' if least > 1 else ''}")
    if len(raw) > most:
        raise _fail(path, f"must have at most {most} items (has {len(raw)})")
    return raw


def _text(raw: object, path: str, most: int, least: int = 1) -> str:
    if not isinstance(raw, str):
        raise _fail(path, "must be a string")
    if not is_storable(raw) or any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise _fail(path, "must not contain control characters or unpaired surrogates")
    if not least <= len(raw) <= most:
        raise _fail(path, f"must be {least} to {most} characters long")
    return raw


def _int(raw: object, path: str, least: int, most: int) -> int:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _fail(path, "must be an integer")
    if not least <= raw <= most:
        raise _fail(path, f"must be between {least} and {most}")
    return raw


def _identifier(raw: object, path: str) -> str:
    text = _text(raw, path, MAX_ID_LENGTH)
    if not set(text) <= _ID_CHARS:
        raise _fail(path, "may only use a-z, 0-9, '-' and '_'")
    return text


def _url(raw: object, path: str, policy: UrlPolicy) -> str:
    try:
        return validate_target_url(raw, policy)
    except InvalidUrl as exc:
        raise _fail(path, exc.message.replace("original_url", "the URL")) from None


def _choices(raw: object, path: str, allowed: tuple[str, ...]) -> frozenset[str]:
    values = set()
    for i, item in enumerate(_list(raw, path, len(allowed))):
        if not isinstance(item, str) or item not in allowed:
            raise _fail(f"{path}[{i}]", f"must be one of {', '.join(allowed)}")
        values.add(item)
    return frozenset(values)


def _each(
    raw: object, path: str, most: int, parse: Callable[[object, str], T], least: int = 1
) -> list[T]:
    items = _list(raw, path, most, least)
    return [parse(item, f"{path}[{i}]") for i, item in enumerate(items)]


# -- conditions ------------------------------------------------------------------


def _country(raw: object, path: str) -> str:
    if not isinstance(raw, str) or raw not in COUNTRY_CODES:
        raise _fail(path, f"{raw!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE, US, GB)")
    return raw


def _city(raw: object, path: str) -> str:
    return _text(raw, path, 100).strip().casefold()


def _language(raw: object, path: str) -> str:
    text = _text(raw, path, 35).lower()
    subtags = text.split("-")
    if not all(part.isascii() and part.isalnum() and len(part) <= 8 for part in subtags):
        raise _fail(path, f"{raw!r} is not a language tag (e.g. de, en-US)")
    if not (subtags[0].isalpha() and 2 <= len(subtags[0]) <= 3):
        raise _fail(path, f"{raw!r} must start with a 2- or 3-letter language code")
    return text


def _network(raw: object, path: str) -> Network:
    if not isinstance(raw, str):
        raise _fail(path, "must be a CIDR string, e.g. 192.0.2.0/24")
    try:
        return ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError:
        raise _fail(path, f"{raw!r} is not an IP address or CIDR (e.g. 192.0.2.0/24)") from None


def _host(raw: object, path: str) -> str:
    text = _text(raw, path, 253).strip().lower().rstrip(".").removeprefix("www.")
    if not text or any(ch in text for ch in "/:@?#* "):
        raise _fail(path, f"{raw!r} must be a bare host name, e.g. news.example.com")
    return text


def _query_condition(raw: object, path: str) -> QueryCondition:
    item = _object(raw, path, frozenset({"param", "equals"}))
    if "param" not in item:
        raise _fail(f"{path}.param", "is required")
    param = _text(item["param"], f"{path}.param", MAX_PARAM_KEY)
    equals = None
    if "equals" in item:  # null is not "any value": leave the key out for that
        equals = _text(item["equals"], f"{path}.equals", MAX_PARAM_VALUE, least=0)
    return QueryCondition(param, equals)


def _clock(raw: object, path: str) -> int:
    """ "HH:MM" → minutes since midnight; "24:00" is the end of the day."""
    if isinstance(raw, str):
        hours, colon, minutes = raw.partition(":")
        if colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
            value = int(hours) * 60 + int(minutes)
            if int(minutes) < 60 and value <= MINUTES_PER_DAY:
                return value
    raise _fail(path, f"{raw!r} must be a time of day HH:MM between 00:00 and 24:00")


def _window(raw: object, path: str) -> Window:
    item = _object(raw, path, _WINDOW_KEYS)
    for key in ("start", "end"):
        if key not in item:
            raise _fail(f"{path}.{key}", "is required")
    days = _choices(item.get("days", list(DAYS)), f"{path}.days", DAYS)
    start, end = _clock(item["start"], f"{path}.start"), _clock(item["end"], f"{path}.end")
    if start >= end:
        raise _fail(path, "is empty: start must be before end (a window can't span midnight)")
    return Window(frozenset(DAYS.index(d) for d in days), start, end)


def _no_overlaps(windows: list[Window], path: str) -> None:
    for j, later in enumerate(windows):
        for i, earlier in enumerate(windows[:j]):
            if (
                earlier.days & later.days
                and earlier.start < later.end
                and later.start < earlier.end
            ):
                raise _fail(f"{path}[{j}]", f"overlaps {path}[{i}] on a common day")


def _instant(raw: object, path: str) -> datetime:
    if not isinstance(raw, str | datetime):
        raise _fail(path, "must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z")
    try:
        return parse_instant(raw)
    except ValueError:
        raise _fail(path, "must be an ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z") from None


def _zone(raw: object, path: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise _fail(path, "must be an IANA time zone name, e.g. Europe/Berlin")
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _fail(path, f"{raw!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)") from None
    return raw


def _time(raw: object, path: str) -> TimeCondition:
    item = _object(raw, path, _TIME_KEYS)
    zone = _zone(item.get("time_zone", "UTC"), f"{path}.time_zone")
    start = _instant(item["from"], f"{path}.from") if "from" in item else None
    until = _instant(item["until"], f"{path}.until") if "until" in item else None
    if start is not None and until is not None and start >= until:
        raise _fail(path, "is empty: from must be before until")
    windows = _each(item.get("windows", []), f"{path}.windows", MAX_WINDOWS, _window, least=0)
    # On what is left once empty lists are read: that is what is stored.
    if start is None and until is None and not windows:
        raise _fail(path, "must give at least one of from, until, windows")
    _no_overlaps(windows, f"{path}.windows")
    return TimeCondition(
        zone,
        start.timestamp() if start else None,
        until.timestamp() if until else None,
        tuple(windows),
    )


_CONDITION_KEYS = frozenset(
    {
        "country",
        "city",
        "device",
        "os",
        "browser",
        "language",
        "query",
        "ip",
        "referrer_host",
        "time",
    }
)


def _conditions(raw: object, path: str) -> Conditions:
    c = _object(raw, path, _CONDITION_KEYS)
    if not any(c.get(key) not in (None, []) for key in c):
        raise _fail(
            path, "must give at least one condition (the link's own target is the catch-all)"
        )

    # A condition given is read, whatever its value: null, false or [] is refused (the
    # document has none of them), never taken for a condition left out.
    def several(key: str, most: int, parse: Callable[[object, str], T]) -> list[T]:
        return _each(c[key], f"{path}.{key}", most, parse) if key in c else []

    def choices(key: str, allowed: tuple[str, ...]) -> frozenset[str]:
        return _choices(c[key], f"{path}.{key}", allowed) if key in c else frozenset()

    return Conditions(
        countries=frozenset(several("country", len(COUNTRY_CODES), _country)),
        cities=frozenset(several("city", MAX_VALUES, _city)),
        devices=choices("device", DEVICE_TYPES),
        oses=choices("os", OPERATING_SYSTEMS),
        browsers=choices("browser", BROWSERS),
        languages=tuple(dict.fromkeys(several("language", MAX_VALUES, _language))),
        query=tuple(several("query", MAX_QUERY_CONDITIONS, _query_condition)),
        networks=tuple(several("ip", MAX_VALUES, _network)),
        referrer_hosts=frozenset(several("referrer_host", MAX_VALUES, _host)),
        time=_time(c["time"], f"{path}.time") if "time" in c else None,
    )


# -- actions and variants -----------------------------------------------------------


class _Context:
    def __init__(self, policy: UrlPolicy, added: tuple[tuple[str, str], ...]):
        self.policy = policy
        self.added = added

    def target(self, raw: object, path: str) -> tuple[str, str]:
        """(validated target, the URL a redirect goes to: with the link's params)."""
        target = _url(raw, path, self.policy)
        return target, append_params(target, self.added)


def default_variant_id(position: int) -> str:
    """The id of a variant given none: its letter (a, b, ...); a given id may not
    take one of these for another variant."""
    return chr(ord("a") + position)


def default_rule_id(position: int) -> str:
    return f"rule-{position + 1}"


def _variants(raw: object, path: str, ctx: _Context) -> tuple[Variant, ...]:
    items = _list(raw, path, MAX_VARIANTS, least=MIN_VARIANTS)
    variants: list[Variant] = []
    for i, entry in enumerate(items):
        here = f"{path}[{i}]"
        item = _object(entry, here, _VARIANT_KEYS)
        for key in ("target", "weight"):
            if key not in item:
                raise _fail(f"{here}.{key}", "is required")
        ident = _identifier(item["id"], f"{here}.id") if "id" in item else default_variant_id(i)
        if any(v.id == ident for v in variants):
            raise _fail(f"{here}.id", f"{ident!r} is used by another variant")
        weight = _int(item["weight"], f"{here}.weight", 1, MAX_WEIGHT)
        target, url = ctx.target(item["target"], f"{here}.target")
        variants.append(Variant(ident, target, weight, url))
    return tuple(variants)


def _redirect_type(raw: object, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in REDIRECT_TYPES:
        raise _fail(path, "must be one of 301, 302, 307, 308")
    return raw


def _action(raw: object, path: str, ctx: _Context) -> Action:
    item = _object(raw, path, _ACTION_KEYS)
    has_target, has_variants = "target" in item, "variants" in item
    if has_target == has_variants:
        raise _fail(path, "must give exactly one of target or variants")
    redirect_type = None
    if item.get("redirect_type") is not None:
        redirect_type = _redirect_type(item["redirect_type"], f"{path}.redirect_type")
    if has_variants:
        return Action(redirect_type, variants=_variants(item["variants"], f"{path}.variants", ctx))
    target, url = ctx.target(item["target"], f"{path}.target")
    return Action(redirect_type, target=target, url=url)


def _rules(raw: object, ctx: _Context) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for i, entry in enumerate(_list(raw, "rules", MAX_RULES, least=0)):
        here = f"rules[{i}]"
        item = _object(entry, here, _RULE_KEYS)
        for key in ("conditions", "action"):
            if key not in item:
                raise _fail(f"{here}.{key}", "is required")
        ident = _identifier(item["id"], f"{here}.id") if "id" in item else default_rule_id(i)
        if any(r.id == ident for r in rules):
            raise _fail(f"{here}.id", f"{ident!r} is used by another rule")
        conditions = _conditions(item["conditions"], f"{here}.conditions")
        rules.append(Rule(ident, conditions, _action(item["action"], f"{here}.action", ctx)))
    return tuple(rules)


# -- the rest ----------------------------------------------------------------------


def _utm(raw: object) -> tuple[tuple[str, str], ...]:
    item = _object(raw, "utm", frozenset(UTM_FIELDS))
    return tuple(
        (f"utm_{key}", _text(item[key], f"utm.{key}", MAX_PARAM_VALUE))
        for key in UTM_FIELDS
        if item.get(key) is not None
    )


UTM_KEYS = frozenset(f"utm_{field}" for field in UTM_FIELDS)


def _query_params(raw: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Mapping):
        raise _fail("query_params", "must be an object of parameter names to values")
    if len(raw) > MAX_QUERY_PARAMS:
        raise _fail("query_params", f"must have at most {MAX_QUERY_PARAMS} parameters")
    params = []
    for key, value in raw.items():
        path = f"query_params.{key}"
        _text(key, path, MAX_PARAM_KEY)
        if key in UTM_KEYS:
            raise _fail(path, f"is a UTM parameter: set it in utm.{key.removeprefix('utm_')}")
        params.append((key, _text(value, path, MAX_PARAM_VALUE, least=0)))
    return tuple(params)


def _tags(raw: object) -> tuple[str, ...]:
    tags = [
        _text(item, f"tags[{i}]", MAX_TAG_LENGTH).strip().lower()
        for i, item in enumerate(_list(raw, "tags", MAX_TAGS, least=0))
    ]
    for i, tag in enumerate(tags):
        if not tag:
            raise _fail(f"tags[{i}]", "must not be blank")
    return tuple(dict.fromkeys(tags))  # case-insensitive, first spelling's order


def _folder(raw: object) -> str:
    folder = _text(raw, "folder", MAX_FOLDER_LENGTH).strip().strip("/")
    if not folder or any(not part.strip() for part in folder.split("/")):
        raise _fail("folder", "must be a name like 'marketing' or 'marketing/2026', no empty parts")
    return folder


def _fallbacks(raw: object, policy: UrlPolicy) -> Fallbacks:
    item = _object(raw, "fallbacks", frozenset(_FALLBACK_KEYS))
    urls = {
        key: _url(item[key], f"fallbacks.{key}", policy)
        for key in _FALLBACK_KEYS
        if item.get(key) is not None
    }
    return Fallbacks(**urls)


def parse_link_options(
    raw: Mapping[str, object],
    policy: UrlPolicy,
    *,
    expires_at: datetime | None = None,
) -> LinkOptions:
    """The options in a document (absent or null fields take their defaults); other
    keys of ``raw`` (the link's own ``original_url``, ...) are not looked at."""
    utm = _utm(raw["utm"]) if raw.get("utm") is not None else ()
    query_params = _query_params(raw["query_params"]) if raw.get("query_params") is not None else ()
    ctx = _Context(policy, utm + query_params)
    max_clicks = raw.get("max_clicks")
    given_from = raw.get("valid_from")
    valid_from = _instant(given_from, "valid_from") if given_from is not None else None
    if valid_from is not None and expires_at is not None and valid_from >= expires_at:
        raise _fail("valid_from", "must be before expires_at (the link would never be valid)")
    pass_query = raw.get("pass_query", False)
    if pass_query is not None and not isinstance(pass_query, bool):
        raise _fail("pass_query", "must be true or false")
    return LinkOptions(
        rules=_rules(raw["rules"], ctx) if raw.get("rules") is not None else (),
        # [] is no split, as the representation shows it (any other falsy value is refused).
        variants=_variants(raw["variants"], "variants", ctx)
        if raw.get("variants") not in (None, [])
        else (),
        max_clicks=_int(max_clicks, "max_clicks", 1, MAX_CLICKS)
        if max_clicks is not None
        else None,
        valid_from=valid_from,
        fallbacks=_fallbacks(raw["fallbacks"], policy)
        if raw.get("fallbacks") is not None
        else Fallbacks(),
        utm=utm,
        query_params=query_params,
        pass_query=bool(pass_query),
        tags=_tags(raw["tags"]) if raw.get("tags") is not None else (),
        folder=_folder(raw["folder"]) if raw.get("folder") is not None else None,
    )
