"""The analytics_stats_100m line's figures: pure arithmetic over timed samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.scale_figures import (
    GENERATED,
    bytes_per_million,
    check_generation_complete,
    question_figures,
)


def test_percentiles_pool_every_round_and_the_ratio_compares_medians_of_rounds() -> None:
    figures = question_figures(
        subject_rounds=[[10.0, 12.0, 11.0], [30.0, 13.0, 9.0]],
        reference_rounds=[[100.0], [300.0]],
    )
    assert figures["p50_ms"] == 11.0
    assert figures["p99_ms"] == 30.0
    assert figures["rounds_p50_ms"] == [11.0, 13.0]
    assert figures["reference_p50_ms"] == 200.0  # median of the rounds' medians
    assert figures["ratio"] == pytest.approx(200.0 / 12.0, rel=1e-3)
    assert figures["meets_target"] is True


def test_a_slow_tail_misses_the_target() -> None:
    figures = question_figures(subject_rounds=[[50.0] * 99 + [600.0]], reference_rounds=[[1.0]])
    assert figures["p50_ms"] == 50.0
    assert figures["p99_ms"] == 50.0  # nearest rank: the 99th of 100
    figures = question_figures(subject_rounds=[[50.0] * 98 + [600.0] * 2], reference_rounds=[[1.0]])
    assert figures["p99_ms"] == 600.0
    assert figures["meets_target"] is False


def test_bytes_per_million_clicks_per_table_and_in_all() -> None:
    per_million = bytes_per_million({"clicks": 3_000_000, "daily_stats": 500_000}, clicks=2_000_000)
    assert per_million == {"clicks": 1_500_000, "daily_stats": 250_000, "total": 1_750_000}


def test_a_kept_directory_is_reused_only_once_its_generation_finished(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="did not finish"):
        check_generation_complete(tmp_path, 30_000_000)  # interrupted after 3 chunks: no marker
    (tmp_path / GENERATED).write_text("100000000\n")
    with pytest.raises(SystemExit, match="says 100000000"):
        check_generation_complete(tmp_path, 30_000_000)
    (tmp_path / GENERATED).write_text("30000000\n")
    check_generation_complete(tmp_path, 30_000_000)
