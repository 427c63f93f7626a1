"""Writing a batch of clicks so that a writer killed mid-insert loses and doubles nothing.

An insert into ``clicks`` feeds its materialized views one after another, and
ClickHouse has no transaction over them. A writer killed in between (chDB runs inside
the killed process; a server can crash too) leaves some tables with the batch and some
without. Seen here: 15 writers killed while inserting left 8 data directories whose
tables disagreed. In 5 of them the old replay guard (itself one of the views) held ids
the aggregates had missed, so the replay skipped those clicks as duplicates: stats
short for good, silently.

So a batch is named before it is written, and written so that it can be written again:

1. its ids go into ``click_ids`` with the batch's token;
2. its rows go into ``clicks`` with the token as ``insert_deduplication_token``; every
   table the insert reaches remembers the last tokens written to it
   (``non_replicated_deduplication_window``), so the same batch written again fills
   the tables that missed it and leaves the others alone;
3. the token goes into ``stored_batches``, landed.

A replayed click named by a landed batch is a duplicate. One named only by batches not
yet settled was cut short: such a batch is settled first. ``clicks`` is written before
its views, and a batch within one month is one part of it, so ``clicks`` has all of the
batch or none. All: those rows are written again under the batch's token. None: the
batch never landed, and its clicks are stored afresh.

On a cluster the inserts go through Distributed tables; whether they carry the token to
the replicas' own deduplication is not proven here (no ClickHouse server on this
machine).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from clickhouse_connect.driver.client import Client

from shortlink.domain.analytics import ClickRow
from shortlink.domain.click_batches import (
    UNNAMED,
    landed_ids,
    monthly,
    new_token,
    stamp_ms,
    token_window,
)

# clicks' columns, in the order _columns_of gives them
COLUMNS: Final = (
    "event_id",
    "code",
    "ts",
    "method",
    "ip",
    "visitor_id",
    "country",
    "city",
    "lat",
    "lon",
    "device",
    "os",
    "browser",
    "user_agent",
    "referrer",
    "referrer_host",
    "is_bot",
    "is_human",
    "rule_id",
    "variant_id",
    "tags",
)
_EVENT_ID: Final = COLUMNS.index("event_id")
_TS: Final = COLUMNS.index("ts")
_DEPENDENT_VIEWS_TOO: Final = {"deduplicate_blocks_in_dependent_materialized_views": 1}
_WINDOW: Final = (
    "ts >= fromUnixTimestamp64Milli({low:Int64}, 'UTC')"
    " AND ts <= fromUnixTimestamp64Milli({high:Int64}, 'UTC')"
)


def write(client: Client, rows: Sequence[ClickRow]) -> None:
    """Store ``rows``, none of them stored before, in ``clicks`` and every view of it."""
    for group in monthly(rows):
        token = new_token(group)
        columns = _columns_of(group)
        client.insert(
            "click_ids",
            [columns[_TS], columns[_EVENT_ID], [token] * len(group)],
            column_names=["ts", "event_id", "batch"],
            column_oriented=True,
        )
        _insert_clicks(client, token, columns)
        _settle(client, token, landed=True)


def landed_among(client: Client, named: Mapping[str, Collection[str]]) -> set[str]:
    """Which event ids are stored, given the batches ``click_ids`` names each one in.
    Batches cut short are settled on the way."""
    tokens = {token for batch_tokens in named.values() for token in batch_tokens}
    if not tokens:
        return set()
    found = client.query(
        "SELECT batch, argMax(landed, settled_at) FROM stored_batches"
        " WHERE batch IN {tokens:Array(String)} GROUP BY batch",
        parameters={"tokens": sorted(tokens)},
    )
    settled: dict[str, bool] = {token: bool(ok) for token, ok in found.result_rows}
    landed = {token for token, ok in settled.items() if ok} | (tokens & {UNNAMED})
    for token in tokens - settled.keys() - {UNNAMED}:
        if _complete(client, token):
            landed.add(token)
    return landed_ids(named, landed)


def _complete(client: Client, token: str) -> bool:
    """Finish a batch a crash cut short; whether it had landed in ``clicks``."""
    low, high = token_window(token)
    found = client.query(
        f"SELECT {', '.join(COLUMNS)} FROM clicks WHERE {_WINDOW} AND event_id IN"
        f" (SELECT event_id FROM click_ids WHERE {_WINDOW} AND batch = {{token:String}})"
        " ORDER BY ts, event_id LIMIT 1 BY event_id",
        parameters={"low": low, "high": high, "token": token},
    )
    landed = bool(found.result_rows)
    if landed:
        _insert_clicks(client, token, found.result_columns)
    _settle(client, token, landed=landed)
    return landed


def _insert_clicks(client: Client, token: str, data: Sequence[Sequence[Any]]) -> None:
    client.insert(
        "clicks",
        data,
        column_names=list(COLUMNS),
        column_oriented=True,
        settings={"insert_deduplication_token": token, **_DEPENDENT_VIEWS_TOO},
    )


def _settle(client: Client, token: str, *, landed: bool) -> None:
    client.insert("stored_batches", [[token, landed]], column_names=["batch", "landed"])


def _columns_of(rows: Sequence[ClickRow]) -> list[list[Any]]:
    return [
        [r.event_id for r in rows],
        [r.code for r in rows],
        [stamp_ms(r) for r in rows],
        [r.method for r in rows],
        [r.ip for r in rows],
        [r.visitor_id for r in rows],
        [r.country for r in rows],
        [r.city for r in rows],
        [r.lat for r in rows],
        [r.lon for r in rows],
        [r.device for r in rows],
        [r.os for r in rows],
        [r.browser for r in rows],
        [r.user_agent for r in rows],
        [r.referrer for r in rows],
        [r.referrer_host for r in rows],
        [r.is_bot for r in rows],
        [r.is_human for r in rows],
        [r.rule_id for r in rows],
        [r.variant_id for r in rows],
        [list(r.tags) for r in rows],
    ]
