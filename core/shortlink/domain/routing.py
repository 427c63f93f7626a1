"""The one evaluator of a link's options: a visitor's facts in, a decision out.

Pure (no I/O, no clock of its own): the redirector calls it for every click of a
link with options, the API's "what would this visitor get" preview calls it for a
made-up visitor. The order, documented for link makers:

1. password (an unlocked visitor only), 2. schedule — before ``valid_from`` is
"not_yet", from ``expires_at`` on "expired" (each to its fallback URL if set, else
today's 404/410 page), 3. rules in order, first match wins, 4. the link's variant
split, else its own target. A click limit is applied after this by the caller,
which owns the counter (``exhausted``): only a redirect about to be served spends.

A/B variants are sticky without a cookie: the bucket is the visitor's ``sticky``
number (a keyed hash of the link's code and the anonymised visitor, see
``visitors.sticky_key``) modulo the total weight.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address
from operator import attrgetter
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from shortlink.domain.accept_language import language_matches
from shortlink.domain.link_options import (
    Conditions,
    LinkOptions,
    Rule,
    TimeCondition,
    Variant,
)

Outcome = Literal["redirect", "not_yet", "expired", "exhausted", "password_required"]
FALLBACK_REDIRECT = 302  # fallbacks are temporary states: never a cached 301


class Visitor(Protocol):
    """The facts a condition can ask about. The redirector's implementation works
    each one out on first use only (GeoIP, user-agent parsing, hashing)."""

    @property
    def country(self) -> str: ...  # ISO alpha-2, "" if unknown
    @property
    def city(self) -> str: ...  # casefolded English name, "" if unknown
    @property
    def device(self) -> str: ...  # visitors.DEVICE_TYPES
    @property
    def os(self) -> str: ...  # link_options.OPERATING_SYSTEMS
    @property
    def browser(self) -> str: ...  # link_options.BROWSERS
    @property
    def languages(self) -> tuple[str, ...]: ...  # most preferred first, lower case
    @property
    def query(self) -> dict[str, str]: ...  # first value of each parameter
    @property
    def ip(self) -> IPv4Address | IPv6Address | None: ...
    @property
    def referrer_host(self) -> str: ...  # lower case, no "www."
    @property
    def sticky(self) -> int: ...  # 64-bit keyed hash of (code, anonymised visitor)


@dataclass(frozen=True, slots=True)
class VisitorFacts:
    """A visitor given outright: the preview's made-up one, and tests'."""

    country: str = ""
    city: str = ""
    device: str = "desktop"
    os: str = "other"
    browser: str = "other"
    languages: tuple[str, ...] = ()
    query: dict[str, str] = field(default_factory=dict)
    ip: IPv4Address | IPv6Address | None = None
    referrer_host: str = ""
    sticky: int = 0


@dataclass(slots=True)  # not frozen: one is built per click, and frozen's init costs 4x
class Decision:
    outcome: Outcome
    target: str | None  # None: no redirect (a page: 403/404/410)
    redirect_type: int
    rule_id: str = ""  # "" when no rule matched
    variant_id: str = ""  # "" when no variant set was involved


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _time_holds(time: TimeCondition, now: float) -> bool:
    if time.start is not None and now < time.start:
        return False
    if time.until is not None and now >= time.until:
        return False
    if not time.windows:
        return True
    day, minute = _local_clock(time.zone, int(now // 1))
    return any(day in w.days and w.start <= minute < w.end for w in time.windows)


@lru_cache(maxsize=256)
def _local_clock(zone: str, epoch_second: int) -> tuple[int, int]:
    """(weekday, minute of the day) on ``zone``'s wall clock in that second: worked
    out once for all the clicks in it (zone offsets are whole seconds)."""
    local = datetime.fromtimestamp(epoch_second, _zone(zone))
    return local.weekday(), local.hour * 60 + local.minute


@lru_cache(maxsize=4096)
def _covered(name: str, separator: str, wanted: Collection[str]) -> bool:
    """Whether ``name`` or a tail (for hosts) or head (for language tags) of it cut at
    ``separator`` is among ``wanted``: "de" covers "de-at" (RFC 4647 basic filtering,
    ``language_matches``), "news.example" covers "m.news.example". Worked out once per
    (name, condition): visitors' languages and referrers repeat, and a lookup is cheaper
    than testing each wanted value on every click."""
    if separator == ".":
        parts = name.split(".")
        return any(".".join(parts[index:]) in wanted for index in range(len(parts)))
    return any(language_matches(name, w) for w in wanted)


def conditions_hold(c: Conditions, visitor: Visitor, now: float) -> bool:
    """All given conditions hold. Cheap checks first (the clock last); each fact is
    asked for only when a condition needs it."""
    if c.devices and visitor.device not in c.devices:
        return False
    if c.oses and visitor.os not in c.oses:
        return False
    if c.browsers and visitor.browser not in c.browsers:
        return False
    if c.countries and visitor.country not in c.countries:
        return False
    if c.cities and visitor.city not in c.cities:
        return False
    if c.languages:
        preferred = visitor.languages
        if not preferred or not _covered(preferred[0], "-", c.languages):
            return False
    if c.query:
        query = visitor.query
        for q in c.query:
            value = query.get(q.param)
            if value is None or (q.equals is not None and value != q.equals):
                return False
    if c.networks:
        ip = visitor.ip
        if ip is None:
            return False
        for network in c.networks:  # a loop, not any(<genexpr>): this runs per click
            if network.version == ip.version and ip in network:
                break
        else:
            return False
    if c.referrer_hosts:
        host = visitor.referrer_host
        if not host or not _covered(host, ".", c.referrer_hosts):
            return False
    return c.time is None or _time_holds(c.time, now)


_weight = attrgetter("weight")


def pick_variant(variants: tuple[Variant, ...], sticky: int) -> Variant:
    """The variant whose share of the total weight ``sticky`` falls in."""
    point = sticky % sum(map(_weight, variants))
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    raise AssertionError("unreachable: point < total weight")


def _split(
    variants: tuple[Variant, ...], visitor: Visitor, redirect_type: int, rule_id: str = ""
) -> Decision:
    variant = pick_variant(variants, visitor.sticky)
    return Decision("redirect", variant.url, redirect_type, rule_id, variant.id)


def first_match(rules: tuple[Rule, ...], visitor: Visitor, now: float) -> Rule | None:
    for rule in rules:
        if conditions_hold(rule.conditions, visitor, now):
            return rule
    return None


def route(
    options: LinkOptions, target: str, redirect_type: int, visitor: Visitor, now: float
) -> Decision:
    """Steps 3-4: where a servable link sends this visitor. ``target`` is the link's
    own, its UTM/query parameters already merged in (``link_options.own_url``)."""
    rule = first_match(options.rules, visitor, now)
    if rule is not None:
        action = rule.action
        if action.redirect_type is not None:
            redirect_type = action.redirect_type
        if action.variants:
            return _split(action.variants, visitor, redirect_type, rule.id)
        assert action.url is not None
        return Decision("redirect", action.url, redirect_type, rule.id)
    if options.variants:
        return _split(options.variants, visitor, redirect_type)
    return Decision("redirect", target, redirect_type)


def scheduled(
    options: LinkOptions, expires_at: float | None, now: float
) -> Literal["not_yet", "expired"] | None:
    """Step 2: None while the link is in its validity period."""
    if options.valid_from is not None and now < options.valid_from.timestamp():
        return "not_yet"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return None


def unavailable(
    options: LinkOptions, outcome: Literal["not_yet", "expired", "exhausted"]
) -> Decision:
    """A link that can't be served now: its fallback URL for that state, else a page."""
    fallback = getattr(options.fallbacks, outcome)
    return Decision(outcome, fallback, FALLBACK_REDIRECT)


def exhausted(options: LinkOptions) -> Decision:
    """The click limit is spent: the exhausted fallback, else a 410 page."""
    return unavailable(options, "exhausted")


def evaluate(
    options: LinkOptions,
    target: str,
    redirect_type: int,
    expires_at: float | None,
    visitor: Visitor,
    now: float,
    unlocked: bool = True,
) -> Decision:
    """Steps 1-4 for one visitor at ``now`` (epoch seconds)."""
    if not unlocked:
        return Decision("password_required", None, redirect_type)
    state = scheduled(options, expires_at, now)
    if state is not None:
        return unavailable(options, state)
    return route(options, target, redirect_type, visitor, now)
