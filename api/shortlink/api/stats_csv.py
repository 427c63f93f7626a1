"""A stats view as CSV (``format=csv``): the series (with the compared period's beside
it), the totals, or one breakdown. RFC 4180 quoting; a cell a spreadsheet would run as
a formula (=, +, -, @) gets a leading apostrophe, as the web UI's export does."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from shortlink.domain.analytics import BREAKDOWNS, LinkStats
from shortlink.domain.errors import InvalidRequest
from shortlink.domain.expiry import format_instant

CSV_TABLES = ("series", "totals", *BREAKDOWNS)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def stats_csv(stats: LinkStats, table: str, previous: LinkStats | None = None) -> str:
    if table not in CSV_TABLES:
        raise InvalidRequest(f"table must be one of {', '.join(CSV_TABLES)}", parameter="table")
    if table == "series":
        header = ["t", "clicks"] + (["previous_t", "previous_clicks"] if previous else [])
        before = previous.series if previous else ()
        rows: list[Sequence[object]] = []
        for i, point in enumerate(stats.series):
            row: list[object] = [_instant(point.t), point.clicks]
            if previous:  # bucket by bucket; a shorter compared period leaves blanks
                row += [_instant(before[i].t), before[i].clicks] if i < len(before) else ["", ""]
            rows.append(row)
    elif table == "totals":
        header = ["clicks", "bot_clicks", "unique_visitors"]
        totals = stats.totals
        rows = [[totals.clicks, totals.bot_clicks, totals.unique_visitors]]
    else:
        header = ["value", "clicks"]
        rows = [[c.value, c.clicks] for c in getattr(stats, table)]
    return _write([header, *rows])


def _write(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_defused(cell) for cell in row])
    return out.getvalue()


def _defused(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return f"'{cell}"
    return cell


def _instant(t: int) -> str:
    return format_instant(datetime.fromtimestamp(t, UTC))
