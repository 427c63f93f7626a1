"""The capacity table is computed from benchmark lines, each figure citing its line."""

from __future__ import annotations

import pytest

from benchmarks.capacity import (
    BEGIN,
    DOC,
    END,
    cpu_count,
    latest,
    read_lines,
    render,
    rewrite,
    rows,
)

LINES = [
    {"scenario": "redirect_hit", "rps": 1000.0, "server_cpus": "0"},
    {"scenario": "redirect_hit", "rps": 3000.0, "server_cpus": "0", "redirector_rss_mb": 90.0},
    {"scenario": "analytics_ingest", "events_per_s": 50_000.0},
    {"scenario": "click_bytes", "kafka_bytes_per_click": 16.0, "clickhouse_bytes_per_click": 44.0},
]


def test_the_last_line_of_a_scenario_counts_and_sizes_follow_from_it() -> None:
    table = dict((q, (v, s)) for q, v, s in rows(latest(LINES)))
    assert table["redirects/s per redirector core, in-process cache"] == (
        "3,000",
        "`redirect_hit`.rps",
    )
    # 100,000 / 3,000 per core / 0.6 utilisation = 55.6 -> 56 cores.
    assert table["redirector cores for 100,000/s at 60%"][0].startswith("56 ")
    # 10 G clicks a month = 3,858/s: 3,858 / 50,000 / 0.6 -> 1 worker; the peak 100k/s -> 4.
    assert table["analytics workers: 3,858/s average, 100,000/s peak"][0].startswith("1 / 4")
    # 44 B x 10 G x 13 months x 2 replicas = 11.4 TB.
    assert table["ClickHouse disk: 13 months x 2 replicas"][0] == "11.4 TB"


def test_a_scenario_not_measured_adds_no_row() -> None:
    assert rows(latest([{"scenario": "redirect_hit", "rps": 10.0, "server_cpus": "0"}]))
    assert not [r for r in rows(latest(LINES[:1])) if "ClickHouse" in r[0]]


def test_only_the_table_between_the_markers_is_rewritten() -> None:
    doc = f"# Capacity\nprose\n{BEGIN}\nold table\n{END}\nmore prose\n"
    table = render([("a", "1", "`x`.y")])
    assert rewrite(doc, table) == f"# Capacity\nprose\n{BEGIN}\n{table}\n{END}\nmore prose\n"
    with pytest.raises(SystemExit):
        rewrite("no markers", table)


def test_cpu_lists_are_counted_as_taskset_writes_them() -> None:
    assert [cpu_count(c) for c in ("0", "0-1", "0,2", "0-3,6")] == [1, 2, 2, 5]


def test_the_documents_table_is_what_its_benchmark_lines_give() -> None:
    lines = read_lines([str(DOC.with_name("capacity-lines.jsonl"))])
    doc = DOC.read_text()
    assert rewrite(doc, render(rows(latest(lines)))) == doc
