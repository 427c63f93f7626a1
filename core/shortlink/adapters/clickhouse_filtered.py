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
# Every breakdown in one pass over the rows: a grouping set per dimension (half the
# time of one (dimension, value) pair per click and ARRAY JOIN, at 1M clicks); the
# link's code too for a workspace. Tags, an array, are counted by their own query.
_KEYS: Final = {name: f"k_{name}" for name in (*EXPRESSIONS, "link")}


def _grouped(names: tuple[str, ...]) -> str:
    which = ", ".join(f"grouping({_KEYS[n]}) = 0, '{n}'" for n in names[:-1])
    value = ", ".join(f"grouping({_KEYS[n]}) = 0, {_KEYS[n]}" for n in names[:-1])
    columns = ", ".join(f"{EXPRESSIONS.get(n, 'code')} AS {_KEYS[n]}" for n in names)
    return (
        f"SELECT multiIf({which}, '{names[-1]}') AS dimension,"
        f" multiIf({value}, {_KEYS[names[-1]]}) AS value, count() AS total"
        f" FROM (SELECT {columns} FROM clicks WHERE {{condition}})"
        f" GROUP BY GROUPING SETS ({', '.join(f'({_KEYS[n]})' for n in names)})"
        " HAVING value != ''"
        " ORDER BY dimension, total DESC, value LIMIT {limit:UInt32} BY dimension"
    )


_BREAKDOWNS: Final = {False: _grouped(tuple(EXPRESSIONS)), True: _grouped((*EXPRESSIONS, "link"))}


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


def summary_sql(condition: str, chosen: str, interval: str) -> str:
    """The totals and the series in one pass over the rows (a scan each was ~40 % of a
    filtered question at 100M clicks): rows of (whole, t, counted, bots, visitors),
    ``whole`` = 1 on the one row of totals, 0 on each bucket's."""
    return (
        f"SELECT grouping(t) AS whole, toUnixTimestamp({BUCKETS[interval]}) AS t,"
        f" countIf({chosen}), countIf(is_bot), uniqIf(visitor_id, {chosen})"
        f" FROM clicks WHERE {condition} GROUP BY GROUPING SETS ((t), ())"
    )


def breakdowns_sql(condition: str, chosen: str, rank_links: bool) -> str:
    """(dimension, value, clicks) of every dimension but tags, largest first."""
    return _BREAKDOWNS[rank_links].replace("{condition}", f"{condition} AND {chosen}")


def tags_sql(condition: str, chosen: str) -> str:
    return (
        "SELECT 'tag' AS dimension, toString(tag) AS value, count() AS total"
        f" FROM clicks ARRAY JOIN tags AS tag WHERE {condition} AND {chosen}"
        " GROUP BY value ORDER BY total DESC, value LIMIT {limit:UInt32}"
    )
