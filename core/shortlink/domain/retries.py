"""When to retry a database write that failed on a lost connection (seed flow 8)."""

from __future__ import annotations

WRITE_RETRIES = 3  # the seed's "attempt 1 of 3"
BACKOFF_FACTOR = 2.0


def backoff_delays(
    window: float, retries: int = WRITE_RETRIES, factor: float = BACKOFF_FACTOR
) -> tuple[float, ...]:
    """Pauses before each retry, each `factor` times the last, together spanning
    `window` seconds: early retries catch a quick recovery (a restart, a fast
    failover), the last lands after a slow one (failoverDelay + promotion)."""
    if retries <= 0 or window <= 0:
        return ()
    first = window * (factor - 1) / (factor**retries - 1) if factor != 1 else window / retries
    return tuple(first * factor**n for n in range(retries))
