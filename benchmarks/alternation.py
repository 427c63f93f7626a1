"""Subject and reference measured in turns (A B A B …), reported as medians.

On a shared machine load drifts from one second to the next; a reference measured
minutes before the subject carries that drift into the ratio. Alternating the two,
round after round, exposes both to the same drift, and the median drops the outlier
round.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.wrk import WrkResult


@dataclass(frozen=True)
class Alternation:
    subject: list[WrkResult]
    reference: list[WrkResult]

    @property
    def subject_rps(self) -> float:
        return median_of([result.rps for result in self.subject])

    @property
    def reference_rps(self) -> float:
        return median_of([result.rps for result in self.reference])

    @property
    def ratio(self) -> float:
        return self.subject_rps / self.reference_rps

    @property
    def subject_p99_ms(self) -> float:
        return median_of([result.p99_ms for result in self.subject])

    def rounds(self) -> dict[str, list[float]]:
        return {
            "subject_rps": [round(result.rps, 1) for result in self.subject],
            "reference_rps": [round(result.rps, 1) for result in self.reference],
        }


def median_of(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("no rounds were run")
    return statistics.median(values)


def median_round(results: Sequence[WrkResult]) -> WrkResult:
    """The round with the median rps (the lower middle one for an even count)."""
    if not results:
        raise ValueError("no rounds were run")
    ordered = sorted(results, key=lambda result: result.rps)
    return ordered[(len(ordered) - 1) // 2]


def summed_socket_errors(results: Sequence[WrkResult]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for result in results:
        for kind, count in result.socket_errors.items():
            totals[kind] = totals.get(kind, 0) + count
    return totals


def alternate(
    rounds: int, reference: Callable[[], WrkResult], subject: Callable[[], WrkResult]
) -> Alternation:
    """Run ``reference`` then ``subject``, ``rounds`` times."""
    references, subjects = alternate_each(rounds, [reference, subject])
    return Alternation(subject=subjects, reference=references)


def alternate_each(rounds: int, runs: Sequence[Callable[[], WrkResult]]) -> list[list[WrkResult]]:
    """Run every one of ``runs`` in the given order, ``rounds`` times (A B C A B C …);
    the results of each run, in round order."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds}")
    results: list[list[WrkResult]] = [[] for _ in runs]
    for _ in range(rounds):
        for run, collected in zip(runs, results, strict=True):
            collected.append(run())
    return results
