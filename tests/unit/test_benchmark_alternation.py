"""benchmarks.alternation: the A B A B order and the medians it reports."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchmarks.alternation import alternate, alternate_each, median_round, summed_socket_errors
from benchmarks.wrk import WrkResult


def result(rps: float, p99_ms: float = 1.0, read_errors: int = 0) -> WrkResult:
    return WrkResult(
        rps=rps,
        requests=int(rps),
        duration_s=1.0,
        percentiles_ms={50.0: p99_ms / 2, 99.0: p99_ms},
        socket_errors={"connect": 0, "read": read_errors, "write": 0, "timeout": 0},
        non_2xx_3xx=0,
    )


def test_runs_reference_then_subject_in_turns() -> None:
    order: list[str] = []
    references = iter([result(100), result(90), result(300)])
    subjects = iter([result(80), result(85), result(10)])

    def reference() -> WrkResult:
        order.append("reference")
        return next(references)

    def subject() -> WrkResult:
        order.append("subject")
        return next(subjects)

    runs = alternate(3, reference, subject)
    assert order == ["reference", "subject"] * 3
    # Medians, not means: the outlier third round moves neither.
    assert runs.reference_rps == 100
    assert runs.subject_rps == 80
    assert runs.ratio == pytest.approx(0.8)
    assert runs.rounds() == {"subject_rps": [80, 85, 10], "reference_rps": [100, 90, 300]}


def test_median_p99_and_median_round() -> None:
    runs = alternate(
        3, lambda: result(1), iter([result(5, 9.0), result(7, 2.0), result(6, 4.0)]).__next__
    )
    assert runs.subject_p99_ms == 4.0
    assert median_round(runs.subject).rps == 6
    # An even count takes the lower middle round, which really ran.
    assert median_round([result(1), result(4), result(2), result(3)]).rps == 2


def test_socket_errors_are_summed_over_rounds() -> None:
    assert summed_socket_errors([result(1, read_errors=2), result(1, read_errors=3)]) == {
        "connect": 0,
        "read": 5,
        "write": 0,
        "timeout": 0,
    }


@pytest.mark.parametrize("rounds", [0, -1])
def test_rejects_fewer_than_one_round(rounds: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        alternate(rounds, lambda: result(1), lambda: result(1))


def test_median_round_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rounds"):
        median_round([])


def test_alternate_each_runs_every_server_in_turn() -> None:
    order: list[str] = []

    def run(name: str, rps: float) -> Callable[[], WrkResult]:
        def measured() -> WrkResult:
            order.append(name)
            return result(rps + len(order))

        return measured

    raw, floor, subject = alternate_each(2, [run("raw", 0), run("floor", 0), run("subject", 0)])
    assert order == ["raw", "floor", "subject"] * 2
    assert [r.rps for r in raw] == [1, 4]
    assert [r.rps for r in floor] == [2, 5]
    assert [r.rps for r in subject] == [3, 6]
    with pytest.raises(ValueError, match="at least 1"):
        alternate_each(0, [run("raw", 0)])
