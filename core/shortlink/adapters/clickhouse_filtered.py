"""Stats read from the raw ``clicks`` rows: what the aggregates cannot answer (filters,
daily buckets in a timezone other than UTC, realtime minutes).

Every SQL fragment here is fixed text: a filter's dimension picks one of the expressions
below (the domain refused any other), and its value travels as a query parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from shortlink.domain.stats_filters import Filter, counted_visitors

# A dimension's value as the breakdowns spell it (the same expressions as the
# materialized views of clickhouse_migrations/0001 and 0002).
CITY: Final = "if(city = '' OR country = '', city, concat(city, ', ', toString(country)))"
VARIANT: Final = (
    "if(variant_id = '', '',"
    " concat(if(rule_id = '', 'link', toString(rule_id)), '/', toString(variant_id)))"
)
EXPRESSIONS: Final = {
    "country": "toString(country)",
    "city": CITY,
    "device": "toString(device)",
    "os": "toString(os)",
    "browser": "toString(browser)",
    "referrer": "referrer_host",
    "rule": "toString(rule_id)",
    "variant": VARIANT,
}
COUNTED: Final = {"human": "is_human", "bot": "is_bot", "none": "0"}
BUCKETS: Final = {
    "day": "toStartOfDay(ts, {tz:String})",
    "hour": "toStartOfHour(ts, {tz:String})",
    "minute": "toStartOfMinute(ts)",
}
# Every breakdown in one pass: one (dimension, value) pair per click, one per tag.
_PAIRS: Final = (
    "arrayConcat(["
    + ", ".join(f"('{name}', {expression})" for name, expression in EXPRESSIONS.items())
    + ", ('link', if({rank_links:UInt8}, code, ''))],"
    " arrayMap(tag -> ('tag', toString(tag)), tags))"
)


def where(filters: Sequence[Filter]) -> tuple[str, dict[str, Any]]:
    """The rows of the links and range asked about that pass ``filters`` (visitor
    filters aside: they choose what counts, see ``counted``), and its parameters."""
    parts = [
        "code IN {codes:Array(String)}",
        "ts >= toDateTime({start:UInt32}, 'UTC')",
        "ts < toDateTime({end:UInt32}, 'UTC')",
    ]
    params: dict[str, Any] = {}
    for index, f in enumerate(filters):
        if f.dimension == "visitor":
            continue
        name = f"f{index}"
        if f.dimension == "tag":
            condition = f"has(tags, {{{name}:String}})" if f.value else "empty(tags)"
        else:
            condition = f"{EXPRESSIONS[f.dimension]} = {{{name}:String}}"
        params[name] = f.value
        parts.append(f"NOT ({condition})" if f.negated else condition)
    return " AND ".join(parts), params


def counted(filters: Sequence[Filter]) -> str:
    return COUNTED[counted_visitors(filters)]


def totals_sql(condition: str, chosen: str) -> str:
    return (
        f"SELECT countIf({chosen}), countIf(is_bot), uniqIf(visitor_id, {chosen})"
        f" FROM clicks WHERE {condition}"
    )


def series_sql(condition: str, chosen: str, interval: str) -> str:
    return (
        f"SELECT toUnixTimestamp({BUCKETS[interval]}) AS t, count() FROM clicks"
        f" WHERE {condition} AND {chosen} GROUP BY t"
    )


def breakdowns_sql(condition: str, chosen: str) -> str:
    return (
        "SELECT pair.1 AS dimension, pair.2 AS value, count() AS total FROM clicks"
        f" ARRAY JOIN {_PAIRS} AS pair WHERE {condition} AND {chosen} AND pair.2 != ''"
        " GROUP BY dimension, value"
        " ORDER BY dimension, total DESC, value LIMIT {limit:UInt32} BY dimension"
    )
