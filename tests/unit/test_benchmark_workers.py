"""benchmarks.workers: the process tree whose CPU time redirect_hit_workers sums."""

from __future__ import annotations

from benchmarks.workers import tree_pids


def test_tree_pids_lists_every_descendant_once_parents_first() -> None:
    tree = {1: [2, 3], 2: [4], 3: [], 4: [2]}  # a loop (a reused pid) is not followed twice
    assert tree_pids(1, lambda pid: tree.get(pid, [])) == [1, 2, 3, 4]


def test_a_process_without_children_is_alone() -> None:
    assert tree_pids(7, lambda pid: []) == [7]
