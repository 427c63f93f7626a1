from __future__ import annotations

import pytest

from shortlink.domain.click_budget import (
    chunk_size,
    failover_overshoot_bound,
    next_reservation,
    refill_mark,
)


@pytest.mark.parametrize(
    ("limit", "configured", "chunk", "bound"),
    [(1, 100, 1, 1), (29, 100, 1, 1), (60, 100, 2, 3), (1000, 100, 33, 49),
     (10_000, 100, 100, 150), (10**9, 7, 7, 10)],
)  # fmt: skip
def test_chunks_are_small_for_small_limits(limit, configured, chunk, bound):
    assert chunk_size(limit, configured) == chunk
    assert refill_mark(limit, configured) == chunk // 2
    assert failover_overshoot_bound(limit, configured) == bound
    assert bound <= max(1, limit // 20)  # at most 5 % of the limit (one click for tiny ones)


def test_reservations_never_pass_the_limit():
    reserved, steps = 0, 0
    while reserved < 1001:
        following = next_reservation(reserved, 1001)
        if following == reserved:
            break
        assert following - reserved <= chunk_size(1001)
        reserved, steps = following, steps + 1
    assert reserved == 1001 and steps == 31
