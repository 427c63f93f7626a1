"""Stats filters and breakdown dimensions (issue 23).

A filter is ``<dimension>:<operator>:<value>`` (query parameter ``filter``, repeated for
several, all of which must hold): ``country:is:US``, ``device:is_not:mobile``. The value
is everything after the second colon, written as the breakdown of that dimension shows
it (a city is "Paris, FR", a variant "<rule>/<variant>" or "link/<variant>"); an empty
value means "none" (``referrer:is:`` is direct traffic). ``visitor`` is ``human`` or
``bot``: it chooses whom the clicks count (people by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from shortlink.domain.errors import InvalidDimension, InvalidFilter
from shortlink.domain.text import is_storable

Operator = Literal["is", "is_not"]
Counted = Literal["human", "bot", "none"]

# Every dimension a filter or a breakdown can name. All but ``visitor`` are the
# breakdowns LinkStats carries (analytics.BREAKDOWNS, plural there).
DIMENSIONS: Final = (
    "country",
    "city",
    "device",
    "os",
    "browser",
    "referrer",
    "tag",
    "rule",
    "variant",
    "visitor",
)
OPERATORS: Final = ("is", "is_not")
VISITORS: Final = ("human", "bot")
MAX_FILTERS: Final = 10
MAX_FILTER_VALUE: Final = 200  # characters: longer than any stored value (a city, a host)
# What parse_filters accepts, for the OpenAPI document (anchored; ``\Z``-free: the
# document adds its own end).
FILTER_PATTERN: Final = (
    rf"^(?:(?:{'|'.join(d for d in DIMENSIONS if d != 'visitor')}):(?:is|is_not)"
    rf":[^\u0000]{{0,{MAX_FILTER_VALUE}}}|visitor:(?:is|is_not):(?:{'|'.join(VISITORS)}))"
)


@dataclass(frozen=True, slots=True)
class Filter:
    dimension: str
    operator: Operator
    value: str

    @property
    def negated(self) -> bool:
        return self.operator == "is_not"


def parse_filters(raws: Iterable[str]) -> tuple[Filter, ...]:
    """The filters of a request, in order. Raises InvalidDimension for a dimension
    not in DIMENSIONS, InvalidFilter for anything else wrong (both 400s)."""
    filters = tuple(_filter(raw) for raw in raws)
    if len(filters) > MAX_FILTERS:
        raise InvalidFilter(f"at most {MAX_FILTERS} filters", parameter="filter")
    return filters


def _filter(raw: str) -> Filter:
    dimension, sep1, rest = raw.partition(":")
    operator, sep2, value = rest.partition(":")
    if not (sep1 and sep2):
        raise InvalidFilter(
            "a filter is '<dimension>:<is|is_not>:<value>', e.g. country:is:US",
            parameter="filter",
        )
    parse_breakdown_dimension(dimension, parameter="filter")
    if operator not in OPERATORS:
        raise InvalidFilter(
            f"a filter's operator is one of {', '.join(OPERATORS)}", parameter="filter"
        )
    if len(value) > MAX_FILTER_VALUE:
        raise InvalidFilter(
            f"a filter's value is at most {MAX_FILTER_VALUE} characters", parameter="filter"
        )
    if not is_storable(value):
        raise InvalidFilter(
            "a filter's value must not contain NUL characters or unpaired surrogates",
            parameter="filter",
        )
    if dimension == "visitor" and value not in VISITORS:
        raise InvalidFilter(
            f"a visitor filter's value is one of {', '.join(VISITORS)}", parameter="filter"
        )
    return Filter(dimension, "is_not" if operator == "is_not" else "is", value)


def parse_breakdown_dimension(name: str, parameter: str = "breakdown") -> str:
    if name not in DIMENSIONS:
        raise InvalidDimension(
            f"unknown dimension; one of {', '.join(DIMENSIONS)}",
            parameter=parameter,
            dimension=name[:50],
        )
    return name


def counted_visitors(filters: Iterable[Filter]) -> Counted:
    """Whom the clicks count under these filters: people unless a ``visitor`` filter
    asks for bots; "none" when the filters leave neither."""
    allowed = set(VISITORS)
    for f in filters:
        if f.dimension == "visitor":
            allowed &= {v for v in VISITORS if (v == f.value) != f.negated}
    if allowed == set(VISITORS):
        return "human"
    return "bot" if allowed == {"bot"} else "human" if allowed == {"human"} else "none"
