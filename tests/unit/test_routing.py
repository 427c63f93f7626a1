# ruff: noqa: E501  (tables of cases read best one case a line)
"""The evaluator: each condition, first-match order, schedule and fallbacks, and
properties over generated links and visitors (weights, order, declared targets)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shortlink.domain.accept_language import language_matches
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import (
    BROWSERS,
    DAYS,
    OPERATING_SYSTEMS,
    LinkOptions,
    declared_targets,
    own_url,
)
from shortlink.domain.routing import (
    Decision,
    VisitorFacts,
    _covered,
    evaluate,
    exhausted,
    pick_variant,
    route,
)
from shortlink.domain.urls import UrlPolicy
from shortlink.domain.visitors import DEVICE_TYPES, anonymize_ip, sticky_key

POLICY = UrlPolicy()
OWN = "https://own.example/"
HIT, MISS = "https://hit.example/", "https://miss.example/"
# Wednesday 2026-03-04 12:00 UTC = 13:00 in Berlin (CET).
WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC).timestamp()
SALT = b"k" * 32


def options(**doc: Any) -> LinkOptions:
    return parse_link_options(doc, POLICY)


def one_rule(conditions: dict[str, Any]) -> LinkOptions:
    return options(rules=[{"conditions": conditions, "action": {"target": HIT}}])


def served(opts: LinkOptions, visitor: VisitorFacts, now: float = WEDNESDAY_NOON) -> str | None:
    return evaluate(opts, OWN, 302, None, visitor, now).target


CASES: list[tuple[dict[str, Any], VisitorFacts, VisitorFacts]] = [
    ({"country": ["DE", "AT"]}, VisitorFacts(country="AT"), VisitorFacts(country="CH")),
    ({"country": ["DE"]}, VisitorFacts(country="DE"), VisitorFacts(country="")),
    ({"city": ["Berlin"]}, VisitorFacts(city="berlin"), VisitorFacts(city="bern")),
    ({"device": ["mobile"]}, VisitorFacts(device="mobile"), VisitorFacts(device="tablet")),
    ({"device": ["bot"]}, VisitorFacts(device="bot"), VisitorFacts(device="desktop")),
    ({"os": ["ios", "android"]}, VisitorFacts(os="android"), VisitorFacts(os="windows")),
    ({"browser": ["firefox"]}, VisitorFacts(browser="firefox"), VisitorFacts(browser="chrome")),
    ({"language": ["de"]}, VisitorFacts(languages=("de-at", "en")), VisitorFacts(languages=("en", "de"))),
    ({"language": ["de-at"]}, VisitorFacts(languages=("de-at",)), VisitorFacts(languages=("de",))),
    ({"language": ["de"]}, VisitorFacts(languages=("de",)), VisitorFacts(languages=("den",))),
    ({"language": ["de"]}, VisitorFacts(languages=("de",)), VisitorFacts(languages=())),
    ({"query": [{"param": "ref"}]}, VisitorFacts(query={"ref": ""}), VisitorFacts(query={"re": "1"})),
    ({"query": [{"param": "ref", "equals": "nl"}]}, VisitorFacts(query={"ref": "nl"}), VisitorFacts(query={"ref": "NL"})),
    (
        {"query": [{"param": "a"}, {"param": "b", "equals": "2"}]},
        VisitorFacts(query={"a": "1", "b": "2"}),
        VisitorFacts(query={"b": "2"}),
    ),
    ({"ip": ["192.0.2.0/24"]}, VisitorFacts(ip=ip_address("192.0.2.77")), VisitorFacts(ip=ip_address("192.0.3.1"))),
    ({"ip": ["2001:db8::/32"]}, VisitorFacts(ip=ip_address("2001:db8::1")), VisitorFacts(ip=ip_address("192.0.2.1"))),
    ({"ip": ["192.0.2.0/24"]}, VisitorFacts(ip=ip_address("192.0.2.1")), VisitorFacts(ip=None)),
    ({"referrer_host": ["example.com"]}, VisitorFacts(referrer_host="news.example.com"), VisitorFacts(referrer_host="notexample.com")),
    ({"referrer_host": ["www.Example.com"]}, VisitorFacts(referrer_host="example.com"), VisitorFacts(referrer_host="")),
    (
        {"time": {"time_zone": "Europe/Berlin", "windows": [{"days": ["wed"], "start": "13:00", "end": "14:00"}]}},
        VisitorFacts(),
        VisitorFacts(),  # the same visitor, evaluated an hour later below
    ),
    ({"country": ["DE"], "device": ["mobile"]}, VisitorFacts(country="DE", device="mobile"), VisitorFacts(country="DE", device="desktop")),
]  # fmt: skip


@pytest.mark.parametrize(("conditions", "matching", "other"), CASES)
def test_each_condition_matches_and_refuses(conditions, matching, other):
    opts = one_rule(conditions)
    assert served(opts, matching) == HIT
    later = WEDNESDAY_NOON + (3600 if "time" in conditions else 0)
    assert served(opts, other, later) == OWN


def test_time_window_is_local_wall_clock_and_end_exclusive():
    opts = one_rule(
        {"time": {"time_zone": "America/New_York", "windows": [{"days": ["wed"], "start": "07:00", "end": "08:00"}]}}
    )  # fmt: skip
    assert served(opts, VisitorFacts()) == HIT  # 12:00 UTC is 07:00 in New York (EST)
    assert served(opts, VisitorFacts(), WEDNESDAY_NOON - 1) == OWN
    assert served(opts, VisitorFacts(), WEDNESDAY_NOON + 3600) == OWN


def test_time_from_until_bounds():
    opts = one_rule({"time": {"from": "2026-03-04T12:00:00Z", "until": "2026-03-04T13:00:00Z"}})
    assert served(opts, VisitorFacts(), WEDNESDAY_NOON) == HIT
    assert served(opts, VisitorFacts(), WEDNESDAY_NOON - 0.001) == OWN
    assert served(opts, VisitorFacts(), WEDNESDAY_NOON + 3600) == OWN


def test_first_match_wins_and_redirect_type_is_the_rules():
    opts = options(
        rules=[
            {"id": "de", "conditions": {"country": ["DE"]}, "action": {"target": HIT, "redirect_type": 307}},
            {"id": "mobile", "conditions": {"device": ["mobile"]}, "action": {"target": MISS}},
        ]
    )  # fmt: skip
    both = evaluate(opts, OWN, 301, None, VisitorFacts(country="DE", device="mobile"), 0)
    assert both == Decision("redirect", HIT, 307, "de")
    second = evaluate(opts, OWN, 301, None, VisitorFacts(device="mobile"), 0)
    assert second == Decision("redirect", MISS, 301, "mobile")
    assert evaluate(opts, OWN, 301, None, VisitorFacts(), 0) == Decision("redirect", OWN, 301)


def test_schedule_fallbacks_and_pages():
    opts = options(
        valid_from="2026-03-04T12:00:00Z",
        fallbacks={"not_yet": "https://soon.example/", "exhausted": "https://gone.example/"},
    )
    early = evaluate(opts, OWN, 301, None, VisitorFacts(), WEDNESDAY_NOON - 1)
    assert early == Decision("not_yet", "https://soon.example/", 302)
    expired = evaluate(opts, OWN, 301, WEDNESDAY_NOON + 10, VisitorFacts(), WEDNESDAY_NOON + 10)
    assert expired == Decision("expired", None, 302)  # no fallback: today's 410 page
    assert evaluate(opts, OWN, 301, None, VisitorFacts(), WEDNESDAY_NOON).target == OWN
    assert exhausted(opts) == Decision("exhausted", "https://gone.example/", 302)
    assert exhausted(options()) == Decision("exhausted", None, 302)


def test_password_comes_first():
    opts = options(valid_from="2030-01-01T00:00:00Z")
    decision = evaluate(opts, OWN, 302, None, VisitorFacts(), 0, unlocked=False)
    assert decision.outcome == "password_required" and decision.target is None


def test_variants_are_sticky_and_named():
    opts = options(
        variants=[
            {"id": "blue", "target": HIT, "weight": 1},
            {"id": "red", "target": MISS, "weight": 1},
        ]
    )
    visitor = VisitorFacts(sticky=sticky_key("abc", anonymize_ip("203.0.113.9"), "UA", SALT))
    first = route(opts, OWN, 302, visitor, 0)
    assert first.variant_id in {"blue", "red"} and first.rule_id == ""
    same_network = VisitorFacts(sticky=sticky_key("abc", anonymize_ip("203.0.113.200"), "UA", SALT))
    assert route(opts, OWN, 302, same_network, 0) == first
    assert pick_variant(opts.variants, 0).id == "blue"
    assert pick_variant(opts.variants, 1).id == "red"


def test_sticky_key_depends_on_code_and_secret():
    keys = {
        sticky_key("abc", "203.0.113.0", "UA", SALT),
        sticky_key("abd", "203.0.113.0", "UA", SALT),
        sticky_key("abc", "203.0.113.0", "UA", b"j" * 32),
        sticky_key("abc", "203.0.112.0", "UA", SALT),
    }
    assert len(keys) == 4


# -- properties ------------------------------------------------------------------


@pytest.mark.parametrize("weights", [(1, 3), (70, 20, 10), (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)])
def test_weights_hold_over_100k_synthetic_visitors(weights):
    split = options(
        variants=[{"target": f"https://v{i}.example/", "weight": w} for i, w in enumerate(weights)]
    )
    rng = random.Random(22)
    counts: Counter[str] = Counter()
    visitors = 100_000
    for _ in range(visitors):
        ip = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        agent = f"Mozilla/5.0 build {rng.randrange(10_000)}"
        sticky = sticky_key("launch", anonymize_ip(ip), agent, SALT)
        counts[route(split, OWN, 302, VisitorFacts(sticky=sticky), 0).variant_id] += 1
    total = sum(weights)
    for variant, weight in zip(split.variants, weights, strict=True):
        share = counts[variant.id] / visitors
        # 1 percentage point: ~6 standard deviations of a binomial share at n = 100k.
        assert abs(share - weight / total) < 0.01, (variant.id, share, weight / total)


COUNTRIES = ("DE", "AT", "US", "FR", "")
LANGS = ("de", "en", "en-us", "fr")
targets = st.sampled_from([f"https://t{i}.example/p" for i in range(8)])
conditions = st.fixed_dictionaries(
    {},
    optional={
        "country": st.lists(st.sampled_from(COUNTRIES[:-1]), min_size=1, max_size=3),
        "device": st.lists(st.sampled_from(DEVICE_TYPES), min_size=1, max_size=2),
        "os": st.lists(st.sampled_from(OPERATING_SYSTEMS), min_size=1, max_size=2),
        "browser": st.lists(st.sampled_from(BROWSERS), min_size=1, max_size=2),
        "language": st.lists(st.sampled_from(LANGS), min_size=1, max_size=2),
        "query": st.lists(
            st.fixed_dictionaries(
                {"param": st.sampled_from("abc")}, optional={"equals": st.sampled_from("xy")}
            ),
            min_size=1,
            max_size=2,
        ),
        "ip": st.lists(
            st.sampled_from(["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"]), min_size=1, max_size=2
        ),
        "time": st.builds(
            lambda day, start, length: {
                "time_zone": "Europe/Berlin",
                "windows": [
                    {"days": [day], "start": f"{start:02d}:00", "end": f"{start + length:02d}:00"}
                ],
            },
            st.sampled_from(DAYS),
            st.integers(0, 22),
            st.integers(1, 2),
        ),
    },
).filter(bool)
variant_sets = st.lists(
    st.fixed_dictionaries({"target": targets, "weight": st.integers(1, 100)}),
    min_size=2,
    max_size=10,
)
actions = st.one_of(
    st.fixed_dictionaries({"target": targets}),
    st.fixed_dictionaries({"variants": variant_sets}),
)
documents = st.fixed_dictionaries(
    {
        "rules": st.lists(
            st.fixed_dictionaries({"conditions": conditions, "action": actions}), max_size=6
        ),
    },
    optional={"variants": variant_sets, "utm": st.fixed_dictionaries({"source": st.just("nl")})},
)
visitors = st.builds(
    VisitorFacts,
    country=st.sampled_from(COUNTRIES),
    device=st.sampled_from(DEVICE_TYPES),
    os=st.sampled_from(OPERATING_SYSTEMS),
    browser=st.sampled_from(BROWSERS),
    languages=st.lists(st.sampled_from(LANGS), max_size=3).map(tuple),
    query=st.dictionaries(st.sampled_from("abc"), st.sampled_from("xyz"), max_size=3),
    ip=st.sampled_from(["10.1.2.3", "192.0.2.9", "2001:db8::5", "198.51.100.1"]).map(ip_address)
    | st.none(),
    sticky=st.integers(0, 2**64 - 1),
)
moments = st.floats(WEDNESDAY_NOON, WEDNESDAY_NOON + 7 * 86400)


def _bare(url: str) -> str:
    return url.split("?", 1)[0]


@settings(max_examples=200, deadline=None)
@given(documents, visitors, moments)
def test_no_decision_leaves_the_declared_targets(document, visitor, now):
    opts = parse_link_options(document, POLICY)
    decision = evaluate(opts, own_url(opts, OWN), 302, None, visitor, now)
    assert decision.outcome == "redirect"
    assert decision.target is not None
    assert _bare(decision.target) in {_bare(t) for t in declared_targets(opts, OWN)}
    if document.get("utm"):
        assert "utm_source=nl" in decision.target


@settings(max_examples=200, deadline=None)
@given(documents, visitors, moments)
def test_the_first_matching_rule_serves(document, visitor, now):
    opts = parse_link_options(document, POLICY)
    decision = evaluate(opts, OWN, 302, None, visitor, now)
    for index, rule in enumerate(opts.rules):
        alone = replace(opts, rules=(rule,), variants=())
        if route(alone, OWN, 302, visitor, now).rule_id == rule.id:
            assert decision.rule_id == rule.id, f"rule {index} matches but another served"
            return
    assert decision.rule_id == ""
    expected = {v.id for v in opts.variants} if opts.variants else {""}
    assert decision.variant_id in expected


_LABELS = st.sampled_from(["news", "example", "com", "m", "a", "de", "at", "ch", ""])


@given(
    name=st.lists(_LABELS, min_size=1, max_size=4),
    wanted=st.frozensets(st.lists(_LABELS, min_size=1, max_size=3).map(tuple), max_size=3),
    separator=st.sampled_from([".", "-"]),
)
def test_a_covered_value_is_the_old_per_value_test(
    name: list[str], wanted: frozenset[tuple[str, ...]], separator: str
) -> None:
    """``_covered`` (one cached lookup per visitor fact and condition) answers what
    testing each wanted value did: a host's own name or a dot-suffix, a language range
    that is the tag or a hyphen-prefix of it."""
    joined = separator.join(name)
    values = frozenset(separator.join(value) for value in wanted)
    if separator == ".":
        expected = any(joined == h or joined.endswith("." + h) for h in values)
    else:
        expected = any(language_matches(joined, w) for w in values)
    assert _covered(joined, separator, values) is expected


def test_sticky_key_is_stable_across_releases():
    """Pinned: a visitor keeps their variant through an upgrade only if the keyed
    BLAKE2b of (code, network, user agent) never changes."""
    assert sticky_key("abc", "203.0.113.0", "UA", SALT) == 18224187206877419274
    assert sticky_key("abc", "203.0.113.0", "UA", SALT) == sticky_key(
        "abc", "203.0.113.0", "UA", SALT
    )  # the keyed state is copied, never consumed
