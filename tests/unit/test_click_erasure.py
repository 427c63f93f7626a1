"""Which clicks an erasure names: whole UTC days (the daily aggregates can't be split)."""

from __future__ import annotations

import pytest

from shortlink.adapters.clickhouse_erasure import erasure_statement
from shortlink.domain.click_erasure import (
    ErasureRange,
    parse_erasure_range,
    retention_cutoff,
    validate_click_retention,
)
from shortlink.domain.errors import InvalidRequest

DAY = 86_400


def test_no_bounds_is_every_click() -> None:
    assert parse_erasure_range({}) == ErasureRange(None, None)
    assert parse_erasure_range({"from": "2026-01-01"}).end is None
    assert parse_erasure_range({}).everything


def test_whole_utc_days_as_dates_or_midnights() -> None:
    erasure = parse_erasure_range({"from": "2026-01-01", "to": "2026-01-03"})
    assert erasure == ErasureRange(1_767_225_600, 1_767_225_600 + 2 * DAY)
    assert parse_erasure_range({"from": "2026-01-01T00:00:00Z"}) == ErasureRange(
        1_767_225_600, None
    )
    assert parse_erasure_range({"to": "2026-01-01T00:00:00+00:00"}).end == 1_767_225_600


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ({"from": "2026-01-01T05:00:00Z"}, "from"),  # not a UTC midnight
        ({"to": "2026-01-01T00:00:00+01:00"}, "to"),  # 23:00 UTC
        ({"from": "yesterday"}, "from"),
        ({"from": "1969-12-31"}, "from"),
        ({"to": "2106-02-08"}, "to"),
        ({"from": "2026-01-03", "to": "2026-01-03"}, "to"),  # empty
        ({"from": "2026-01-03", "to": "2026-01-01"}, "to"),
        ({"from": "x" * 10_000}, "from"),
        ({"to": ""}, "to"),  # given, but empty
    ],
)
def test_anything_else_is_a_400_naming_the_parameter(args: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_erasure_range(args)
    assert refused.value.details["parameter"] == parameter


def test_sql_bounds_of_an_open_range() -> None:
    assert ErasureRange(None, None).bounds() == (0, 2**32 - 1)
    assert ErasureRange(DAY, None).bounds() == (DAY, 2**32 - 1)


def test_retention_keeps_whole_utc_days_back_from_today() -> None:
    noon = 1_767_225_600 + 12 * 3600  # 2026-01-01 12:00 UTC
    assert retention_cutoff(noon, 1) == 1_767_225_600 - DAY  # yesterday and today kept
    assert retention_cutoff(noon, 30) == 1_767_225_600 - 30 * DAY
    assert retention_cutoff(1_767_225_600, 1) == 1_767_225_600 - DAY


@pytest.mark.parametrize("value", [0, 1, 365, 36_600, 30.0])
def test_click_retention_days_zero_keeps_every_click(value: object) -> None:
    assert validate_click_retention(value) == int(value)  # type: ignore[call-overload]


@pytest.mark.parametrize("value", [-1, 36_601, 1.5, True, "30", None])
def test_click_retention_days_out_of_range_is_a_400(value: object) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate_click_retention(value)
    assert refused.value.details["field"] == "click_retention_days"


def test_on_a_cluster_the_local_tables_are_erased_on_every_server() -> None:
    single = erasure_statement("daily_stats", "toDateTime(day, 'UTC')", "")
    assert single.startswith("DELETE FROM daily_stats WHERE code IN {codes:Array(String)}")
    clustered = erasure_statement("clicks", "ts", "{cluster}")
    # a Distributed table takes no DELETE: its shards' local tables do
    assert clustered.startswith(
        "DELETE FROM clicks_local ON CLUSTER '{cluster}' WHERE code IN {codes:Array(String)}"
    )
    assert "ts >= toDateTime({start:UInt32}, 'UTC') AND ts < toDateTime({end:UInt32}, 'UTC')" in (
        clustered
    )
