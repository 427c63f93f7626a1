"""Batches of clicks as the store writes them: named before they are written, so a batch
a crash cut short can be written again, whole and under the same name
(adapters/clickhouse_batches.py says why and how).

A batch's token carries its time window, so the batch can be found again by the
tables' time keys without another table to look it up in.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import attrgetter

from shortlink.domain.analytics import ClickRow

# Rows stored before tokens existed carry this one: their batches count as landed.
UNNAMED = ""


def stamp_ms(row: ClickRow) -> int:
    """A click's time as stored: DateTime64(3), so whole milliseconds."""
    return round(row.ts * 1000)


def write_order(rows: Iterable[ClickRow]) -> list[ClickRow]:
    """The order a batch is written in, the first time and again: by time, as rows read
    back from ``clicks`` come. A table splits an insert into one part per partition in
    the order its partitions first appear, and each part's deduplication token is
    numbered in that order; so a batch written again must meet the partitions of
    ``recent_clicks`` (hourly) in the same order to be recognised part by part."""
    return sorted(rows, key=attrgetter("ts"))


def monthly(rows: Sequence[ClickRow]) -> list[list[ClickRow]]:
    """``rows`` in write order, one group per calendar month (UTC): ``clicks`` is
    partitioned by month, and one group is written as one part, which lands whole or
    not at all."""
    groups: list[list[ClickRow]] = []
    month_end = -1
    for row in write_order(rows):
        if (stamp := stamp_ms(row)) >= month_end:  # sorted: a new month, or the first
            groups.append([])
            month_end = _next_month(stamp)
        groups[-1].append(row)
    return groups


def _next_month(ms: int) -> int:
    """The start of the month after the one holding ``ms`` (epoch milliseconds)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp()) * 1000


def new_token(rows: Sequence[ClickRow]) -> str:
    """A fresh name for a batch of ``rows`` (at least one), ending in its time window."""
    stamps = [stamp_ms(row) for row in rows]
    return f"{uuid.uuid4().hex}-{min(stamps)}-{max(stamps)}"


def token_window(token: str) -> tuple[int, int]:
    """The batch's first and last click time (epoch milliseconds, inclusive)."""
    _, low, high = token.rsplit("-", 2)
    return int(low), int(high)


def landed_ids(named: Mapping[str, Collection[str]], landed: Collection[str]) -> set[str]:
    """The event ids (id → the batches that named it) that a landed batch holds."""
    return {event_id for event_id, tokens in named.items() if any(t in landed for t in tokens)}
