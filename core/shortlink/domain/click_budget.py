"""Click limits counted exactly across redirector pods, with PostgreSQL as the truth.

Redis holds each limited link's budget as ``used`` (clicks served) and ``ceiling``
(how far PostgreSQL has let it go). A click is served only if ``used < ceiling``,
and one atomic script both checks and counts, so pods can't race past it. When
``used`` reaches ``ceiling`` one pod (under a short lock) reserves the next chunk in
PostgreSQL — ``clicks_reserved`` moves from the ceiling it saw to at most
``max_clicks``, compare-and-set — and raises the ceiling. PostgreSQL therefore
always holds an upper bound of what was served, and is the truth after Redis loses
the budget: it is re-seeded with every reserved click counted as spent (under-
serving by less than a chunk, never over-serving).

How far over N a Redis failover can go: a promoted replica may lack the last
increments the old primary acknowledged, and hands those slots out again — but only
slots inside a chunk it knows of. Its ceiling is never above PostgreSQL's
reservation, and once it needs more, the compare-and-set finds PostgreSQL ahead and
the budget jumps to "all reserved clicks spent". So each failover that loses writes
can serve at most ``chunk_size(N)`` clicks more than N — one chunk, which is at most
``max(1, N // 20)`` (5 % of N) and at most the configured chunk — and none without
a failover. Losing Redis outright (a restart without persistence) serves none extra.
"""

from __future__ import annotations

from typing import Final

DEFAULT_CHUNK: Final = 100  # clicks per PostgreSQL reservation at most
CHUNK_SHARE: Final = 20  # and at most 1/20 of the limit, so the failover bound is <= 5 % of N


def chunk_size(max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """Clicks one reservation grants: small limits reserve click by click."""
    return max(1, min(configured, max_clicks // CHUNK_SHARE))


def next_reservation(reserved: int, max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """The reservation after ``reserved``: one chunk more, never past the limit."""
    return min(max_clicks, reserved + chunk_size(max_clicks, configured))


def failover_overshoot_bound(max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """Clicks beyond ``max_clicks`` that one Redis failover losing writes can serve."""
    return chunk_size(max_clicks, configured)
