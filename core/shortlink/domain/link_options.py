"""What a link can carry besides its target (issue 22): rules, A/B variants, a click
limit, a schedule start, fallbacks, UTM and query parameters, tags and a folder.

One model for every layer: the API and the ShortLink CRD take the same document
(``link_option_parsing.parse_link_options``), PostgreSQL and the caches store that
document (``options_document``), and the redirector evaluates the parsed form
(``routing.evaluate``). The parsed form is already "compiled": sets for membership,
parsed networks, minutes since midnight, targets with their UTM/query merged in.

Conditions are exact values, sets, prefixes and CIDRs only. There are no regular
expressions anywhere in a rule, so no rule can make the edge backtrack (ReDoS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Any, Final

from shortlink.domain.expiry import format_instant
from shortlink.domain.query_merge import append_params

MAX_RULES: Final = 50
MIN_VARIANTS: Final = 2
MAX_VARIANTS: Final = 10
MAX_WEIGHT: Final = 10_000
MAX_CLICKS: Final = 1_000_000_000_000
MAX_VALUES: Final = 50  # values in one condition (cities, networks, hosts, ...)
MAX_QUERY_CONDITIONS: Final = 10
MAX_WINDOWS: Final = 14
MAX_TAGS: Final = 20
MAX_TAG_LENGTH: Final = 50
MAX_FOLDER_LENGTH: Final = 100
MAX_QUERY_PARAMS: Final = 20
MAX_PARAM_KEY: Final = 100
MAX_PARAM_VALUE: Final = 500
MAX_ID_LENGTH: Final = 40

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
OPERATING_SYSTEMS: Final = ("ios", "android", "windows", "macos", "linux", "other")
BROWSERS: Final = ("chrome", "firefox", "safari", "edge", "opera", "samsung", "other")
UTM_FIELDS: Final = ("source", "medium", "campaign", "term", "content")
MINUTES_PER_DAY: Final = 24 * 60

Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class QueryCondition:
    param: str
    equals: str | None  # None: the parameter only has to be present


@dataclass(frozen=True, slots=True)
class Window:
    """Local wall-clock minutes [start, end) on some days of the week (0 = Monday)."""

    days: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TimeCondition:
    zone: str  # IANA name, e.g. "Europe/Berlin"
    start: float | None  # epoch seconds, inclusive
    until: float | None  # epoch seconds, exclusive
    windows: tuple[Window, ...]


@dataclass(frozen=True, slots=True)
class Conditions:
    """All given conditions must hold; within one, any listed value will do."""

    countries: frozenset[str] = frozenset()
    cities: frozenset[str] = frozenset()  # casefolded English names
    devices: frozenset[str] = frozenset()
    oses: frozenset[str] = frozenset()
    browsers: frozenset[str] = frozenset()
    languages: tuple[str, ...] = ()  # lower-case language ranges ("de", "en-us")
    query: tuple[QueryCondition, ...] = ()
    networks: tuple[Network, ...] = ()
    referrer_hosts: frozenset[str] = frozenset()
    time: TimeCondition | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    target: str  # as given
    weight: int
    url: str  # target with the link's UTM/query parameters merged in


@dataclass(frozen=True, slots=True)
class Action:
    """Where a matching visitor goes: one target, or a weighted variant set."""

    redirect_type: int | None  # None: the link's own
    target: str | None = None
    url: str | None = None  # target with the link's UTM/query parameters merged in
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    conditions: Conditions
    action: Action


@dataclass(frozen=True, slots=True)
class Fallbacks:
    """Where to send visitors instead of today's 404/410 pages."""

    not_yet: str | None = None
    expired: str | None = None
    exhausted: str | None = None


NO_FALLBACKS: Final = Fallbacks()


@dataclass(frozen=True, slots=True)
class LinkOptions:
    rules: tuple[Rule, ...] = ()
    variants: tuple[Variant, ...] = ()  # the default split when no rule matches
    max_clicks: int | None = None
    valid_from: datetime | None = None
    fallbacks: Fallbacks = NO_FALLBACKS
    utm: tuple[tuple[str, str], ...] = ()  # (utm_source, value), in UTM_FIELDS order
    query_params: tuple[tuple[str, str], ...] = ()
    pass_query: bool = False
    tags: tuple[str, ...] = ()
    folder: str | None = None

    @property
    def added_params(self) -> tuple[tuple[str, str], ...]:
        """What every redirect target gets appended: UTM first, then the rest."""
        return self.utm + self.query_params

    @property
    def routes(self) -> bool:
        """Whether serving needs the evaluator (anything beyond the plain target)."""
        return bool(
            self.rules
            or self.variants
            or self.added_params
            or self.pass_query
            or self.valid_from is not None
            or self.max_clicks is not None
            or self.fallbacks != NO_FALLBACKS
        )


NO_OPTIONS: Final = LinkOptions()


def declared_targets(options: LinkOptions, target: str) -> frozenset[str]:
    """Every URL (as given, before query merging) a redirect of this link may go to."""
    found = {target}
    for rule in options.rules:
        if rule.action.target is not None:
            found.add(rule.action.target)
        found.update(v.target for v in rule.action.variants)
    found.update(v.target for v in options.variants)
    found.update(
        url
        for url in (
            options.fallbacks.not_yet,
            options.fallbacks.expired,
            options.fallbacks.exhausted,
        )
        if url is not None
    )
    return frozenset(found)


# -- the document: what the API, the CRD and storage read and write ----------------


def _minutes_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _instant_text(epoch: float) -> str:
    return format_instant(datetime.fromtimestamp(epoch, UTC))


def _conditions_document(c: Conditions) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if c.countries:
        doc["country"] = sorted(c.countries)
    if c.cities:
        doc["city"] = sorted(c.cities)
    if c.devices:
        doc["device"] = sorted(c.devices)
    if c.oses:
        doc["os"] = sorted(c.oses)
    if c.browsers:
        doc["browser"] = sorted(c.browsers)
    if c.languages:
        doc["language"] = list(c.languages)
    if c.query:
        doc["query"] = [
            {"param": q.param} if q.equals is None else {"param": q.param, "equals": q.equals}
            for q in c.query
        ]
    if c.networks:
        doc["ip"] = [str(n) for n in c.networks]
    if c.referrer_hosts:
        doc["referrer_host"] = sorted(c.referrer_hosts)
    if c.time is not None:
        time: dict[str, Any] = {"time_zone": c.time.zone}
        if c.time.start is not None:
            time["from"] = _instant_text(c.time.start)
        if c.time.until is not None:
            time["until"] = _instant_text(c.time.until)
        if c.time.windows:
            time["windows"] = [
                {
                    "days": [DAYS[d] for d in sorted(w.days)],
                    "start": _minutes_text(w.start),
                    "end": _minutes_text(w.end),
                }
                for w in c.time.windows
            ]
        doc["time"] = time
    return doc


def _variants_document(variants: tuple[Variant, ...]) -> list[dict[str, Any]]:
    return [{"id": v.id, "target": v.target, "weight": v.weight} for v in variants]


def _action_document(action: Action) -> dict[str, Any]:
    if action.variants:
        return {
            "variants": _variants_document(action.variants),
            "redirect_type": action.redirect_type,
        }
    return {"target": action.target, "redirect_type": action.redirect_type}


def own_url(options: LinkOptions, target: str) -> str:
    """The link's own target as redirects send it: with its UTM/query parameters."""
    return append_params(target, options.added_params)


def options_document(options: LinkOptions) -> dict[str, Any]:
    """The canonical JSON form; ``parse_link_options`` reads it back to equal options.
    Every key is present (null or empty when unset), so API clients see the whole shape."""
    fallbacks = options.fallbacks
    return {
        "rules": [
            {
                "id": rule.id,
                "conditions": _conditions_document(rule.conditions),
                "action": _action_document(rule.action),
            }
            for rule in options.rules
        ],
        "variants": _variants_document(options.variants),
        "max_clicks": options.max_clicks,
        "valid_from": format_instant(options.valid_from) if options.valid_from else None,
        "fallbacks": {
            "not_yet": fallbacks.not_yet,
            "expired": fallbacks.expired,
            "exhausted": fallbacks.exhausted,
        },
        "utm": {key.removeprefix("utm_"): value for key, value in options.utm},
        "query_params": dict(options.query_params),
        "pass_query": options.pass_query,
        "tags": list(options.tags),
        "folder": options.folder,
    }


OPTION_FIELDS: Final = tuple(options_document(NO_OPTIONS))
