from __future__ import annotations

import pytest

from shortlink.domain.click_budget import chunk_size, failover_overshoot_bound, next_reservation


@pytest.mark.parametrize(
    ("limit", "configured", "chunk"),
    [(1, 100, 1), (19, 100, 1), (40, 100, 2), (1000, 100, 50), (10_000, 100, 100), (10**9, 7, 7)],
)
def test_chunks_are_small_for_small_limits(limit, configured, chunk):
    assert chunk_size(limit, configured) == chunk
    assert failover_overshoot_bound(limit, configured) == chunk
    assert chunk <= max(1, limit // 20)


def test_reservations_never_pass_the_limit():
    reserved, steps = 0, 0
    while reserved < 1001:
        following = next_reservation(reserved, 1001)
        if following == reserved:
            break
        assert following - reserved <= chunk_size(1001)
        reserved, steps = following, steps + 1
    assert reserved == 1001 and steps == 21
