"""benchmarks.workers: the process tree whose CPU time redirect_hit_workers sums."""

from __future__ import annotations

from benchmarks.workers import cpu_share_fields, tree_pids


def test_tree_pids_lists_every_descendant_once_parents_first() -> None:
    tree = {1: [2, 3], 2: [4], 3: [], 4: [2]}  # a loop (a reused pid) is not followed twice
    assert tree_pids(1, lambda pid: tree.get(pid, [])) == [1, 2, 3, 4]


def test_a_process_without_children_is_alone() -> None:
    assert tree_pids(7, lambda pid: []) == [7]


def test_cpu_share_fields_per_request_and_cpus_busy() -> None:
    assert cpu_share_fields("reference_", 8.0, 4.0, 10.0, 200_000) == {
        "reference_server_cpu_us_per_request": 40.0,
        "reference_client_cpu_us_per_request": 20.0,
        "reference_server_cpus_busy": 0.8,
        "reference_client_cpus_busy": 0.4,
    }
    assert set(cpu_share_fields("", 1.0, 1.0, 0.0, 0).values()) == {None}
