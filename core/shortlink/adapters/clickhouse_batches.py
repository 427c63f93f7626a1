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
3. the token goes into ``stored_batches``, landed (a few batches at a time).

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

import time
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


class ClickBatches:
    """Writes click batches for one ClickStore; one writer at a time (the ingest stores
    a batch after another). Landed batches are marked in ``stored_batches`` a few at a
    time, every ``MARK_EVERY`` seconds: a mark costs an insert, as dear as a batch's
    ids. Until then this process knows them, and after a crash a replay of one is
    settled through ``clicks`` (written again under its token: a no-op)."""

    MARK_EVERY: Final = 10.0

    def __init__(self, client: Client) -> None:
        self._client = client
        self._unmarked: list[str] = []  # landed, not yet in stored_batches
        self._marked_at = time.monotonic()

    def write(self, rows: Sequence[ClickRow]) -> None:
        """Store ``rows``, none stored before, in ``clicks`` and every view of it."""
        for group in monthly(rows):
            token = new_token(group)
            columns = _columns_of(group)
            self._client.insert(
                "click_ids",
                [columns[_TS], columns[_EVENT_ID], [token] * len(group)],
                column_names=["ts", "event_id", "batch"],
                column_oriented=True,
            )
            _insert_clicks(self._client, token, columns)
            self._unmarked.append(token)
        if time.monotonic() - self._marked_at >= self.MARK_EVERY:
            self.mark()

    def mark(self) -> None:
        """Write the marks of the batches landed since the last time."""
        if self._unmarked:
            self._settle(self._unmarked, landed=True)
            self._unmarked = []
        self._marked_at = time.monotonic()

    def landed_among(self, named: Mapping[str, Collection[str]]) -> set[str]:
        """Which event ids are stored, given the batches ``click_ids`` names each one in.
        Batches cut short are settled on the way."""
        tokens = {token for batch_tokens in named.values() for token in batch_tokens}
        known = tokens & {UNNAMED, *self._unmarked}
        if not tokens - known:
            return landed_ids(named, known)
        found = self._client.query(
            "SELECT batch, argMax(landed, settled_at) FROM stored_batches"
            " WHERE batch IN {tokens:Array(String)} GROUP BY batch",
            parameters={"tokens": sorted(tokens - known)},
        )
        settled: dict[str, bool] = {token: bool(ok) for token, ok in found.result_rows}
        landed = known | {token for token, ok in settled.items() if ok}
        for token in tokens - known - settled.keys():
            if self._complete(token):
                landed.add(token)
        return landed_ids(named, landed)

    def _complete(self, token: str) -> bool:
        """Finish a batch a crash cut short; whether it had landed in ``clicks``. Settled
        at once either way: a batch that never landed must not be finished later from
        the rows its clicks were stored afresh as."""
        low, high = token_window(token)
        found = self._client.query(
            f"SELECT {', '.join(COLUMNS)} FROM clicks WHERE {_WINDOW} AND event_id IN"
            f" (SELECT event_id FROM click_ids WHERE {_WINDOW} AND batch = {{token:String}})"
            " ORDER BY ts, event_id LIMIT 1 BY event_id",
            parameters={"low": low, "high": high, "token": token},
        )
        landed = bool(found.result_rows)
        if landed:
            _insert_clicks(self._client, token, found.result_columns)
        self._settle([token], landed=landed)
        return landed

    def _settle(self, tokens: Sequence[str], *, landed: bool) -> None:
        self._client.insert(
            "stored_batches",
            [[token, landed] for token in tokens],
            column_names=["batch", "landed"],
        )


def _insert_clicks(client: Client, token: str, data: Sequence[Sequence[Any]]) -> None:
    client.insert(
        "clicks",
        data,
        column_names=list(COLUMNS),
        column_oriented=True,
        settings={"insert_deduplication_token": token, **_DEPENDENT_VIEWS_TOO},
    )


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
