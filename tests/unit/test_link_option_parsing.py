# ruff: noqa: E501  (tables of cases read best one case a line)
"""Link options: every refusal names its exact field path; the document round-trips."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shortlink.domain.errors import InvalidLinkOption
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import (
    MAX_RULES,
    MAX_VARIANTS,
    NO_OPTIONS,
    OPTION_FIELDS,
    declared_targets,
    options_document,
)
from shortlink.domain.urls import UrlPolicy

POLICY = UrlPolicy.build(["blocked.example"], ["sho.rt"])
A, B, C = "https://a.example/", "https://b.example/", "https://c.example/"


def rule(conditions: dict[str, Any] | None = None, **action: Any) -> dict[str, Any]:
    return {
        "conditions": {"country": ["DE"]} if conditions is None else conditions,
        "action": action or {"target": A},
    }


def variants(*weights: int) -> list[dict[str, Any]]:
    return [{"target": f"https://v{i}.example/", "weight": w} for i, w in enumerate(weights)]


def refused(doc: dict[str, Any], **kw: Any) -> InvalidLinkOption:
    with pytest.raises(InvalidLinkOption) as caught:
        parse_link_options(doc, POLICY, **kw)
    assert caught.value.code == "INVALID_LINK_OPTION"
    return caught.value


EVERYTHING = {
    "rules": [
        {
            "id": "ios-de",
            "conditions": {
                "country": ["DE", "AT"],
                "city": ["berlin"],
                "device": ["mobile", "tablet"],
                "os": ["ios"],
                "browser": ["safari"],
                "language": ["de", "en-us"],
                "query": [{"param": "ref"}, {"param": "src", "equals": "nl"}],
                "ip": ["192.0.2.0/24", "2001:db8::/32"],
                "referrer_host": ["news.example"],
                "time": {
                    "time_zone": "Europe/Berlin",
                    "from": "2026-01-01T00:00:00Z",
                    "until": "2027-01-01T00:00:00Z",
                    "windows": [
                        {"days": ["mon", "tue"], "start": "09:00", "end": "17:00"},
                        {"days": ["sat"], "start": "00:00", "end": "24:00"},
                    ],
                },
            },
            "action": {"target": A, "redirect_type": 307},
        },
        {
            "id": "split",
            "conditions": {"device": ["desktop"]},
            "action": {
                "variants": [
                    {"id": "x", "target": B, "weight": 1},
                    {"id": "y", "target": C, "weight": 2},
                ],
                "redirect_type": 302,
            },
        },
    ],
    "variants": [{"id": "a", "target": A, "weight": 50}, {"id": "b", "target": B, "weight": 50}],
    "max_clicks": 1000,
    "valid_from": "2026-06-01T00:00:00Z",
    "fallbacks": {"not_yet": C, "expired": None, "exhausted": "https://sold.example/out"},
    "utm": {"source": "newsletter", "medium": "email", "campaign": "spring"},
    "query_params": {"ref": "sl"},
    "pass_query": True,
    "tags": ["spring", "email"],
    "folder": "marketing/2026",
}


def test_the_whole_document_round_trips():
    options = parse_link_options(EVERYTHING, POLICY)
    document = options_document(options)
    assert parse_link_options(document, POLICY) == options
    assert document["rules"][0]["conditions"]["time"]["windows"][1]["end"] == "24:00"
    assert tuple(document) == OPTION_FIELDS


def test_defaults_are_no_options():
    assert parse_link_options({}, POLICY) == NO_OPTIONS
    assert parse_link_options(options_document(NO_OPTIONS), POLICY) == NO_OPTIONS
    assert not NO_OPTIONS.routes


def test_targets_carry_the_links_parameters_and_declared_set_is_complete():
    options = parse_link_options(EVERYTHING, POLICY)
    assert options.rules[0].action.url == (
        A + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring&ref=sl"
    )
    assert declared_targets(options, "https://own.example/") == {
        "https://own.example/",
        A,
        B,
        C,
        "https://sold.example/out",
    }


def test_rule_and_variant_ids_default_by_position():
    options = parse_link_options({"rules": [rule(), rule()], "variants": variants(1, 1)}, POLICY)
    assert [r.id for r in options.rules] == ["rule-1", "rule-2"]
    assert [v.id for v in options.variants] == ["a", "b"]


def test_tags_are_deduplicated_case_insensitively_and_folder_trimmed():
    options = parse_link_options({"tags": ["Spring", "spring", " Q2 "], "folder": "/m/x/"}, POLICY)
    assert options.tags == ("spring", "q2")
    assert options.folder == "m/x"


@pytest.mark.parametrize(
    ("doc", "field", "says"),
    [
        ({"rules": [rule({"country": ["DE", "XX"]})]}, "rules[0].conditions.country[1]", "ISO"),
        ({"rules": [rule(), rule(), rule({"country": ["UK"]})]}, "rules[2].conditions.country[0]", "ISO"),
        ({"rules": [rule({})]}, "rules[0].conditions", "at least one condition"),
        ({"rules": [rule({"colour": ["red"]})]}, "rules[0].conditions.colour", "not a field"),
        ({"rules": [rule({"device": ["phone"]})]}, "rules[0].conditions.device[0]", "one of"),
        ({"rules": [rule({"country": ["de"]})]}, "rules[0].conditions.country[0]", "ISO"),
        ({"rules": [rule({"os": ["iOS"]})]}, "rules[0].conditions.os[0]", "one of"),
        ({"rules": [rule({"os": ["beos"]})]}, "rules[0].conditions.os[0]", "one of"),
        ({"rules": [rule({"browser": ["netscape"]})]}, "rules[0].conditions.browser[0]", "one of"),
        ({"rules": [rule({"language": ["e"]})]}, "rules[0].conditions.language[0]", "language"),
        ({"rules": [rule({"language": ["de_DE"]})]}, "rules[0].conditions.language[0]", "language"),
        ({"rules": [rule({"ip": ["10.0.0.0/33"]})]}, "rules[0].conditions.ip[0]", "CIDR"),
        ({"rules": [rule({"referrer_host": ["https://x.example/"]})]}, "rules[0].conditions.referrer_host[0]", "bare host"),
        ({"rules": [rule({"query": [{"equals": "x"}]})]}, "rules[0].conditions.query[0].param", "required"),
        ({"rules": [rule({"time": {"time_zone": "Mars/Olympus", "windows": []}})]}, "rules[0].conditions.time.time_zone", "IANA"),
        ({"rules": [rule({"time": {"time_zone": "UTC"}})]}, "rules[0].conditions.time", "at least one of"),
        # Given but saying nothing: stored, they would read back as the case above
        # (and every listing of the workspace would be refused).
        ({"rules": [rule({"time": {"windows": []}})]}, "rules[0].conditions.time", "at least one of"),
        ({"rules": [rule({"time": {"from": None}})]}, "rules[0].conditions.time.from", "ISO 8601"),  # null is no instant
        ({"rules": [rule({"time": {"from": "2026-02-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}})]}, "rules[0].conditions.time", "empty"),
        ({"rules": [rule({"time": {"windows": [{"start": "10:00", "end": "10:00"}]}})]}, "rules[0].conditions.time.windows[0]", "empty"),
        ({"rules": [rule({"time": {"windows": [{"start": "22:00", "end": "02:00"}]}})]}, "rules[0].conditions.time.windows[0]", "empty"),
        ({"rules": [rule({"time": {"windows": [{"start": "25:00", "end": "26:00"}]}})]}, "rules[0].conditions.time.windows[0].start", "HH:MM"),
        ({"rules": [rule({"time": {"windows": [{"start": "9:60", "end": "10:00"}]}})]}, "rules[0].conditions.time.windows[0].start", "HH:MM"),
        (
            {"rules": [rule({"time": {"windows": [
                {"days": ["mon", "tue"], "start": "09:00", "end": "12:00"},
                {"days": ["wed"], "start": "10:00", "end": "11:00"},
                {"days": ["tue"], "start": "11:59", "end": "13:00"},
            ]}})]},
            "rules[0].conditions.time.windows[2]",
            "overlaps rules[0].conditions.time.windows[0]",
        ),
        ({"rules": [rule({"time": {"windows": [{"days": ["someday"], "start": "09:00", "end": "10:00"}]}})]}, "rules[0].conditions.time.windows[0].days[0]", "one of"),
        ({"rules": [rule(target="https://blocked.example/x")]}, "rules[0].action.target", "blocked"),
        ({"rules": [rule(target="https://sub.blocked.example/x")]}, "rules[0].action.target", "blocked"),
        ({"rules": [rule(target="https://sho.rt/abc")]}, "rules[0].action.target", "own domain"),
        ({"rules": [rule(target="javascript:alert(1)")]}, "rules[0].action.target", "http"),
        ({"rules": [rule(target=A, variants=variants(1, 1))]}, "rules[0].action", "exactly one"),
        ({"rules": [rule(target=A, redirect_type=303)]}, "rules[0].action.redirect_type", "301"),
        ({"rules": [rule(variants=variants(1))]}, "rules[0].action.variants", "at least 2"),
        ({"rules": [rule(variants=variants(1, 0))]}, "rules[0].action.variants[1].weight", "between 1"),
        ({"rules": [rule(variants=variants(0, 0))]}, "rules[0].action.variants[0].weight", "between 1"),
        ({"rules": [rule(variants=variants(1, -5))]}, "rules[0].action.variants[1].weight", "between 1"),
        ({"rules": [rule(variants=variants(1, True))]}, "rules[0].action.variants[1].weight", "integer"),
        ({"rules": [rule(variants=variants(1, 1.5))]}, "rules[0].action.variants[1].weight", "integer"),
        ({"rules": [{"id": "x", **rule()}, {"id": "x", **rule()}]}, "rules[1].id", "used by another"),
        ({"rules": [{"id": "Bad Id", **rule()}]}, "rules[0].id", "a-z"),
        ({"rules": [rule()] * (MAX_RULES + 1)}, "rules", f"at most {MAX_RULES}"),
        ({"rules": {"a": 1}}, "rules", "list"),
        ({"variants": variants(*[1] * (MAX_VARIANTS + 1))}, "variants", f"at most {MAX_VARIANTS}"),
        ({"variants": variants(3)}, "variants", "at least 2"),
        ({"variants": [{"target": A, "weight": 1}, {"target": "https://blocked.example/", "weight": 1}]}, "variants[1].target", "blocked"),
        ({"variants": [{"target": A}, {"target": B, "weight": 1}]}, "variants[0].weight", "required"),
        ({"max_clicks": 0}, "max_clicks", "between 1"),
        ({"max_clicks": "10"}, "max_clicks", "integer"),
        ({"valid_from": "tomorrow"}, "valid_from", "ISO 8601"),
        ({"fallbacks": {"expired": "https://blocked.example/"}}, "fallbacks.expired", "blocked"),
        ({"fallbacks": {"later": A}}, "fallbacks.later", "not a field"),
        ({"utm": {"source": "a\x00"}}, "utm.source", "control"),
        ({"utm": {"channel": "x"}}, "utm.channel", "not a field"),
        ({"utm": {"source": "x"}, "query_params": {"utm_source": "y"}}, "query_params.utm_source", "utm.source"),
        ({"query_params": {"utm_medium": "y"}}, "query_params.utm_medium", "UTM parameter"),
        ({"query_params": ["a"]}, "query_params", "object"),
        ({"pass_query": "yes"}, "pass_query", "true or false"),
        ({"tags": ["ok", "  "]}, "tags[1]", "blank"),
        ({"tags": ["x" * 51]}, "tags[0]", "1 to 50"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags", "at most 20"),
        ({"folder": "a//b"}, "folder", "empty parts"),
        ({"folder": 7}, "folder", "string"),
    ],
)  # fmt: skip
def test_bad_input_names_the_exact_field(doc, field, says):
    error = refused(doc)
    assert error.details["field"] == field
    assert says in error.message


@pytest.mark.parametrize("field", ["query_params", "variants", "fallbacks", "valid_from"])
@pytest.mark.parametrize("falsy", [False, 0, ""])
def test_a_falsy_value_of_the_wrong_type_is_refused_not_read_as_absent(field, falsy):
    # {"query_params": false} was taken as no parameters (the fuzzer's ST201 on bulk).
    assert refused({field: falsy}).details["field"] == field


@pytest.mark.parametrize("key", ["country", "device", "os", "browser", "time"])
@pytest.mark.parametrize("value", [None, False, []])
def test_a_condition_given_must_be_a_condition(key, value):
    """The document has no null, false or empty condition: each is refused by name, not
    read as absent (which the fuzzer would find as a schema-violating request accepted)."""
    conditions = {"ip": ["192.0.2.0/24"], key: value}
    error = refused({"rules": [rule(conditions)]})
    assert error.details["field"] == f"rules[0].conditions.{key}"


@pytest.mark.parametrize(
    ("conditions", "action", "field"),
    [
        ({"time": {"from": "2026-01-01T00:00:00Z", "until": None}}, None, "rules[0].conditions.time.until"),
        ({"time": {"from": None, "until": "2026-01-01T00:00:00Z"}}, None, "rules[0].conditions.time.from"),
        ({"time": {"from": "2026-01-01T00:00:00Z", "windows": None}}, None, "rules[0].conditions.time.windows"),
        ({"query": [{"param": "a", "equals": None}]}, None, "rules[0].conditions.query[0].equals"),
        (None, {"target": None, "variants": variants(1, 1)}, "rules[0].action"),
        (None, {"target": A, "variants": None}, "rules[0].action"),
    ],
)  # fmt: skip
def test_a_null_inside_a_rule_is_refused_where_the_document_has_none(conditions, action, field):
    """The fuzzer's ST201: time.until null was accepted as no end."""
    error = refused({"rules": [rule(conditions, **(action or {"target": A}))]})
    assert error.details["field"] == field


def test_empty_variants_fallbacks_and_query_params_are_none():
    """As the representation shows them: a document sent back as read is accepted."""
    empty = parse_link_options({"variants": [], "fallbacks": {}, "query_params": {}}, POLICY)
    assert empty == NO_OPTIONS


def test_integral_numbers_are_integers_as_json_says():
    options = parse_link_options({"max_clicks": 5.0, "variants": variants(1.0, 2)}, POLICY)
    assert options.max_clicks == 5 and [v.weight for v in options.variants] == [1, 2]


def test_valid_from_must_come_before_expiry():
    error = refused(
        {"valid_from": "2030-01-01T00:00:00Z"}, expires_at=datetime(2029, 1, 1, tzinfo=UTC)
    )
    assert error.details["field"] == "valid_from"


def test_windows_on_different_days_or_touching_do_not_overlap():
    options = parse_link_options(
        {
            "rules": [
                rule(
                    {
                        "time": {
                            "windows": [
                                {"days": ["mon"], "start": "09:00", "end": "12:00"},
                                {"days": ["mon"], "start": "12:00", "end": "13:00"},
                                {"days": ["tue"], "start": "09:00", "end": "12:00"},
                            ]
                        }
                    }
                )
            ]
        },
        POLICY,
    )
    time = options.rules[0].conditions.time
    assert time is not None and len(time.windows) == 3 and time.zone == "UTC"
