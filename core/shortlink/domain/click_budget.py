"""Click limits counted exactly across redirector pods, with PostgreSQL as the truth.

Redis holds each limited link's budget as ``used`` (clicks served) and ``ceiling``
(how far PostgreSQL has let it go). A click is served only if ``used < ceiling``,
and one atomic script both checks and counts, so pods can't race past it. When
at most half a chunk is left (``refill_mark``), one pod (under a short lock, in
the background, so clicks rarely wait) reserves the next chunk in PostgreSQL —
``clicks_reserved`` moves from the ceiling it saw to at most ``max_clicks``,
compare-and-set — and raises the ceiling. PostgreSQL therefore
always holds an upper bound of what was served, and is the truth after Redis loses
the budget: it is re-seeded with every reserved click counted as spent (under-
serving by less than a chunk, never over-serving).

How far over N a Redis failover can go: a promoted replica may lack the last
increments the old primary acknowledged, and hands those slots out again — but only
slots below the ceiling it knows of. Its ceiling is never above PostgreSQL's
reservation, and once it needs more, the compare-and-set finds PostgreSQL ahead and
the budget jumps to "all reserved clicks spent". A chunk is only reserved when at
most ``refill_mark`` clicks are left, so ``ceiling - used`` never exceeds
``chunk + refill_mark``: each failover that loses writes can serve at most
``failover_overshoot_bound(N)`` = chunk + chunk // 2 clicks more than N — at most
5 % of N (chunk <= N // 30) and at most 150 with the default chunk of 100 — and none
without a failover. Losing Redis outright (a restart without persistence) serves
none extra.
"""

from __future__ import annotations

from typing import Final

DEFAULT_CHUNK: Final = 100  # clicks per PostgreSQL reservation at most
CHUNK_SHARE: Final = 30  # and at most 1/30 of the limit: the failover bound is <= 5 % of N


def chunk_size(max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """Clicks one reservation grants: small limits reserve click by click."""
    return max(1, min(configured, max_clicks // CHUNK_SHARE))


def refill_mark(max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """Reserve the next chunk once this few clicks (or fewer) are left."""
    return chunk_size(max_clicks, configured) // 2


def next_reservation(reserved: int, max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """The reservation after ``reserved``: one chunk more, never past the limit."""
    return min(max_clicks, reserved + chunk_size(max_clicks, configured))


def failover_overshoot_bound(max_clicks: int, configured: int = DEFAULT_CHUNK) -> int:
    """Clicks beyond ``max_clicks`` that one Redis failover losing writes can serve."""
    return chunk_size(max_clicks, configured) + refill_mark(max_clicks, configured)
