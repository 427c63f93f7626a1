"""A year of clicks over many links, generated inside ClickHouse (chDB) in minutes.

``generate_clicks`` runs ``INSERT INTO clicks ... SELECT ... FROM numbers()`` in
time-ordered chunks: every column is a function of the row number and hashes of
it, so a run is reproducible and nothing crosses the Python boundary. The mix:

* links: ``L<rank>``, Zipf-skewed (density ~ 1/(rank+1)): with 100k links the
  hottest gets ~6 % of all clicks, the top 1,000 ~60 %;
* workspaces: link rank // 1,000 (``w0`` holds the 1,000 hottest links);
* time: uniform over ``[end - days, end)``, so realtime windows have clicks;
* 10 % bots (device ``bot``), 1 % HEAD requests; a human click is a person's GET;
* countries weighted like a global audience (US 30 %, IN 9 %, GB 8 %, ...),
  device mobile 55 % / desktop 40 % / tablet 5 %, OS and browser following the
  device, referrers 40 % direct, the rest big sites plus a long tail of hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from tests.harness.synthetic_clicks import COLUMNS_BEFORE_RULES

LINKS_PER_WORKSPACE = 1_000
# Aggregates written in few large blocks: a part per block and partition, and each
# block runs the target's own views (hourly -> daily) once.
_BIG_BLOCKS = (
    "SETTINGS max_block_size = 1048576, min_insert_block_size_rows = 4194304,"
    " min_insert_block_size_bytes = 1073741824, max_threads = 2"
)

# Weighted lists: an entry's share is its count of repeats over the list's length.
_COUNTRIES = (
    ["US"] * 30 + ["IN"] * 9 + ["GB"] * 8 + ["DE"] * 7 + ["BR"] * 6 + ["FR"] * 5
    + ["JP"] * 4 + ["CA"] * 4 + ["ES"] * 3 + ["IT"] * 3 + ["NL"] * 2 + ["MX"] * 2
    + ["AU"] * 2 + ["PL"] * 2 + ["ID"] * 2 + ["KR", "SE", "TR", "NG", "AR", "CH", "BE",
    "AT", "PT", "ZA", "EG", "PH", "VN", ""]
)  # fmt: skip
_REFERRERS = (
    [""] * 40
    + ["www.google.com"] * 15
    + ["t.co"] * 8
    + ["www.facebook.com"] * 6
    + ["www.linkedin.com"] * 4
    + ["www.reddit.com"] * 4
    + ["news.ycombinator.com"] * 2
    + ["l.instagram.com"] * 3
    + ["*"] * 18
)  # fmt: skip  ("*": a host of the long tail)


@dataclass(frozen=True)
class Mix:
    clicks: int
    links: int
    end: int  # epoch s: the newest click is just before
    days: int = 365


def _array(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def select_sql(mix: Mix, first: int, count: int) -> str:
    """The SELECT producing rows ``first`` .. ``first + count - 1`` of the mix."""
    span_ms = mix.days * 86_400_000
    start_ms = mix.end * 1000 - span_ms
    countries = _array(_COUNTRIES)
    referrers = _array(_REFERRERS)
    return f"""
        SELECT
            concat('g', hex(number)) AS event_id,
            concat('L', toString(rank)) AS code,
            fromUnixTimestamp64Milli(
                toInt64({start_ms} + intDiv(number * {span_ms}, {mix.clicks})), 'UTC') AS ts,
            if(h % 100 = 7, 'HEAD', 'GET') AS method,
            '' AS ip,
            cityHash64(rank, cityHash64(number, 5) % 1000003) AS visitor_id,
            {countries}[1 + bitShiftRight(h, 8) % {len(_COUNTRIES)}] AS country,
            if(country = '', '', concat('City', toString(bitShiftRight(h, 16) % 40))) AS city,
            NULL AS lat,
            NULL AS lon,
            multiIf(bot, 'bot', d < 55, 'mobile', d < 95, 'desktop', 'tablet') AS device,
            multiIf(bot, 'Other', device = 'desktop',
                    ['Windows', 'Windows', 'Windows', 'Mac OS X', 'Linux'][1 + o % 5],
                    ['iOS', 'Android', 'Android'][1 + o % 3]) AS os,
            multiIf(bot, ['Googlebot', 'Slackbot', 'curl'][1 + o % 3],
                    os IN ('iOS', 'Mac OS X') AND o % 4 != 0, 'Safari',
                    ['Chrome', 'Chrome', 'Chrome', 'Firefox', 'Edge', 'Samsung Internet'][
                        1 + bitShiftRight(o, 4) % 6]) AS browser,
            'Mozilla/5.0' AS user_agent,
            '' AS referrer,
            if(r = '*', concat('site', toString(tail), '.example'), r) AS referrer_host,
            bot AS is_bot,
            NOT bot AND method = 'GET' AS is_human
        FROM (
            SELECT
                number,
                cityHash64(number, 1) AS h,
                toUInt32(pow({mix.links + 1}, (cityHash64(number, 2) % 4294967296)
                                              / 4294967296.0)) - 1 AS rank,
                h % 10 = 0 AS bot,
                bitShiftRight(h, 24) % 100 AS d,
                cityHash64(number, 3) AS o,
                {referrers}[1 + bitShiftRight(h, 32) % {len(_REFERRERS)}] AS r,
                toUInt32(pow(10001, bitShiftRight(h, 40) / 16777216.0)) AS tail
            FROM numbers({first}, {count})
        )
    """


def generate_clicks(client: Client, mix: Mix, chunk: int = 10_000_000) -> None:
    """Insert the whole mix into ``clicks`` and its aggregates, a chunk at a time.

    Through the views a 1M-row insert took 52 s here: the hourly tables' own views
    (hourly -> daily) run once per inserted block, and there were many. So each chunk
    goes into a staging copy of ``clicks``; every view reading ``clicks`` runs once
    over the whole chunk with its own SELECT (read from system.tables, so it cannot
    drift from the migrations) into a staging copy of its target, and so on down the
    chain; then every staging table's parts are attached to the real one. The replay
    guard's ``click_ids`` (written by the ingest, no view) is left empty: it keeps 7
    days of ids, not a year's."""
    columns = ", ".join(COLUMNS_BEFORE_RULES)
    database = client.database or "default"
    for first in range(0, mix.clicks, chunk):
        count = min(chunk, mix.clicks - first)
        staged = _stage(client, "clicks")
        try:
            client.command(f"INSERT INTO {staged} ({columns}) {select_sql(mix, first, count)}")
            _cascade(client, database, "clicks", staged)
        finally:
            client.command(f"DROP TABLE IF EXISTS {staged}")


def _stage(client: Client, table: str) -> str:
    staged = f"{table}_generated"
    client.command(f"DROP TABLE IF EXISTS {staged}")
    client.command(f"CREATE TABLE {staged} AS {table}")
    return staged


def _cascade(client: Client, database: str, table: str, staged: str) -> None:
    """Run the views reading ``table`` over ``staged`` (recursively), then move the
    staged parts into ``table``."""
    for target, select in _views_of(client, database, table):
        target_staged = _stage(client, target)
        try:
            client.command(
                f"INSERT INTO {target_staged} {_reading(select, database, table, staged)}"
                f" {_BIG_BLOCKS}"
            )
            _cascade(client, database, target, target_staged)
        finally:
            client.command(f"DROP TABLE IF EXISTS {target_staged}")
    partitions = client.query(
        "SELECT DISTINCT partition_id FROM system.parts WHERE active"
        " AND database = {db:String} AND table = {staged:String}",
        parameters={"db": database, "staged": staged},
    ).result_rows
    for (partition,) in partitions:
        client.command(f"ALTER TABLE {table} ATTACH PARTITION ID '{partition}' FROM {staged}")


def _views_of(client: Client, database: str, source: str) -> list[tuple[str, str]]:
    """(target table, SELECT) of the materialized views reading ``source``."""
    rows = client.query(
        "SELECT as_select, create_table_query FROM system.tables"
        " WHERE database = {db:String} AND engine = 'MaterializedView'",
        parameters={"db": database},
    ).result_rows
    found = []
    for select, create in rows:
        target = re.search(r"\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?", create)
        if target and _reads(select, database, source):
            found.append((target.group(1), select))
    return found


def _reads(select: str, database: str, table: str) -> bool:
    return re.search(rf"\bFROM\s+(?:`?{database}`?\.)?`?{table}`?(\s|$)", select) is not None


def _reading(select: str, database: str, table: str, staged: str) -> str:
    """The view's SELECT, reading ``staged`` instead of ``table``."""
    return re.sub(rf"\bFROM\s+(?:`?{database}`?\.)?`?{table}`?(\s|$)", rf"FROM {staged}\1", select)


def synthetic_owners(links: int) -> list[tuple[str, str]]:
    """(code, workspace) of every link (``L<rank>`` in ``w<rank // 1,000>``): what
    PostgreSQL would tell the workspace rollups (adapters.clickhouse_rollups)."""
    return [(f"L{rank}", f"w{rank // LINKS_PER_WORKSPACE}") for rank in range(links)]


def workspace_codes(workspace: int, links: int) -> list[str]:
    """The codes of workspace ``w<workspace>`` (see the module docstring)."""
    first = workspace * LINKS_PER_WORKSPACE
    return [f"L{rank}" for rank in range(first, min(links, first + LINKS_PER_WORKSPACE))]
