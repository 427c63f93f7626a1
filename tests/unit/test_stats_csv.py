"""CSV export of a stats view (issue 23): the series or any breakdown."""

from __future__ import annotations

import csv
import io

import pytest

from shortlink.api.stats_csv import CSV_TABLES, stats_csv
from shortlink.domain.analytics import BREAKDOWNS, Count, LinkStats, SeriesPoint, Totals
from shortlink.domain.errors import InvalidRequest

STATS = LinkStats(
    code="abc1234", start=0, end=7200, interval="hour", totals=Totals(3, 1, 2),
    series=(SeriesPoint(0, 2), SeriesPoint(3600, 1)),
    countries=(Count("US", 2), Count("DE", 1)), cities=(Count("=HYPERLINK(1)", 1),),
    devices=(), os=(), browsers=(), referrers=(Count("t.co, x", 3),),
)  # fmt: skip
PREVIOUS = LinkStats(
    code="abc1234", start=-7200, end=0, interval="hour", totals=Totals(5, 0, 5),
    series=(SeriesPoint(-7200, 4), SeriesPoint(-3600, 1)),
    countries=(), cities=(), devices=(), os=(), browsers=(), referrers=(),
)  # fmt: skip


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_series_with_and_without_the_comparison() -> None:
    assert _rows(stats_csv(STATS, "series")) == [
        ["t", "clicks"],
        ["1970-01-01T00:00:00Z", "2"],
        ["1970-01-01T01:00:00Z", "1"],
    ]
    assert _rows(stats_csv(STATS, "series", PREVIOUS)) == [
        ["t", "clicks", "previous_t", "previous_clicks"],
        ["1970-01-01T00:00:00Z", "2", "1969-12-31T22:00:00Z", "4"],
        ["1970-01-01T01:00:00Z", "1", "1969-12-31T23:00:00Z", "1"],
    ]


def test_a_breakdown_quoted_and_defused() -> None:
    assert _rows(stats_csv(STATS, "countries")) == [["value", "clicks"], ["US", "2"], ["DE", "1"]]
    assert _rows(stats_csv(STATS, "referrers")) == [["value", "clicks"], ["t.co, x", "3"]]
    assert _rows(stats_csv(STATS, "cities"))[1] == ["'=HYPERLINK(1)", "1"]


def test_totals_and_every_table_named() -> None:
    assert _rows(stats_csv(STATS, "totals")) == [
        ["clicks", "bot_clicks", "unique_visitors"], ["3", "1", "2"],
    ]  # fmt: skip
    assert set(CSV_TABLES) == {"series", "totals", *BREAKDOWNS}
    with pytest.raises(InvalidRequest) as refused:
        stats_csv(STATS, "planets")
    assert refused.value.details["parameter"] == "table"
