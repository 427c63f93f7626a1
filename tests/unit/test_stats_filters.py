"""Stats filters: ``<dimension>:<is|is_not>:<value>``, several at once (issue 23)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shortlink.domain.errors import InvalidDimension, InvalidFilter
from shortlink.domain.stats_filters import (
    DIMENSIONS,
    FILTER_PATTERN,
    MAX_FILTER_VALUE,
    MAX_FILTERS,
    Filter,
    counted_visitors,
    parse_breakdown_dimension,
    parse_filters,
)


def test_filters_parse_into_dimension_operator_and_value() -> None:
    assert parse_filters(["country:is:US", "device:is_not:mobile", "city:is:Paris, FR"]) == (
        Filter("country", "is", "US"),
        Filter("device", "is_not", "mobile"),
        Filter("city", "is", "Paris, FR"),
    )
    # the value is everything after the second colon; an empty one is "none" (direct)
    assert parse_filters(["variant:is:promo/a:b", "referrer:is:"]) == (
        Filter("variant", "is", "promo/a:b"),
        Filter("referrer", "is", ""),
    )


def test_every_dimension_of_the_issue_can_be_filtered() -> None:
    assert set(DIMENSIONS) == {
        "country", "city", "device", "os", "browser", "referrer", "tag", "rule", "variant",
        "visitor",
    }  # fmt: skip
    for dimension in DIMENSIONS:
        value = "bot" if dimension == "visitor" else "x"
        assert parse_filters([f"{dimension}:is:{value}"])[0].dimension == dimension


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("planet:is:mars", InvalidDimension),
        ("country:equals:US", InvalidFilter),
        ("country", InvalidFilter),
        ("country:is", InvalidFilter),
        ("country:is:" + "x" * 10_000, InvalidFilter),
        ("country:is:a\x00b", InvalidFilter),
        ("visitor:is:robot", InvalidFilter),
    ],
)
def test_bad_filters_are_refused_with_their_own_code(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error) as refused:
        parse_filters([raw])
    assert refused.value.details["parameter"] == "filter"  # type: ignore[attr-defined]


def test_a_value_may_be_as_long_as_the_limit_and_no_longer() -> None:
    assert parse_filters([f"city:is:{'x' * MAX_FILTER_VALUE}"])
    with pytest.raises(InvalidFilter, match=str(MAX_FILTER_VALUE)):
        parse_filters([f"city:is:{'x' * (MAX_FILTER_VALUE + 1)}"])


def test_too_many_filters_are_refused() -> None:
    assert len(parse_filters(["country:is_not:US"] * MAX_FILTERS)) == MAX_FILTERS
    with pytest.raises(InvalidFilter, match="at most"):
        parse_filters(["country:is_not:US"] * (MAX_FILTERS + 1))


def test_breakdown_dimension() -> None:
    assert parse_breakdown_dimension("browser") == "browser"
    with pytest.raises(InvalidDimension):
        parse_breakdown_dimension("planet")


def test_the_visitor_filter_chooses_whom_the_clicks_count() -> None:
    assert counted_visitors(()) == "human"
    assert counted_visitors(parse_filters(["visitor:is:bot"])) == "bot"
    assert counted_visitors(parse_filters(["visitor:is_not:human"])) == "bot"
    assert counted_visitors(parse_filters(["visitor:is_not:bot", "country:is:US"])) == "human"
    # humans and bots at once: nothing
    assert counted_visitors(parse_filters(["visitor:is:bot", "visitor:is:human"])) == "none"


@given(st.text(max_size=300))
def test_any_text_is_a_filter_or_a_400(raw: str) -> None:
    try:
        [parsed] = parse_filters([raw])
    except (InvalidFilter, InvalidDimension):
        return
    assert f"{parsed.dimension}:{parsed.operator}:{parsed.value}" == raw
    assert re.fullmatch(FILTER_PATTERN, raw)


@given(st.sampled_from(DIMENSIONS), st.sampled_from(["is", "is_not"]), st.text(max_size=250))
def test_the_documented_pattern_is_what_is_accepted(dimension: str, op: str, value: str) -> None:
    raw = f"{dimension}:{op}:{value}"
    try:
        parse_filters([raw])
    except InvalidFilter:
        assert not re.fullmatch(FILTER_PATTERN, raw)
    else:
        assert re.fullmatch(FILTER_PATTERN, raw)


def test_utc_by_any_of_its_names_reads_the_aggregates() -> None:
    from shortlink.domain.stats_buckets import uses_aggregates

    for name in ("UTC", "Etc/UTC", "Etc/Universal", "Zulu", "GMT", "Etc/GMT"):
        assert uses_aggregates(name, ()), name
    assert not uses_aggregates("Europe/London", ())  # UTC in winter only
    assert not uses_aggregates("UTC", parse_filters(["country:is:US"]))


def test_zones_whose_hours_are_utc_hours() -> None:
    from datetime import UTC, datetime

    from shortlink.domain.stats_buckets import hours_are_utc_hours

    year = (int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()),
            int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()))  # fmt: skip
    assert hours_are_utc_hours("Europe/Paris", *year)  # DST included: whole hours
    assert hours_are_utc_hours("America/New_York", *year)
    assert not hours_are_utc_hours("Asia/Kolkata", *year)  # +05:30
    assert not hours_are_utc_hours("Australia/Lord_Howe", *year)  # +10:30, +11 in summer
    assert not hours_are_utc_hours("Asia/Kathmandu", *year)  # +05:45
