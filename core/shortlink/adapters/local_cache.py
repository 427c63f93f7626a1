"""The redirector's in-process (L1) cache in front of Redis.

Correctness comes from invalidation, not TTL: every write publishes the codes
it touched and each redirector evicts them (see redis_cache.InvalidationListener).
While that feed is down the cache is disabled, so a missed message can never
serve a stale link for longer than the feed's reconnect.
"""

from __future__ import annotations

import time

from shortlink.domain.links import MISS, Destination


class LocalCache:
    def __init__(self, max_size: int, ttl_seconds: float) -> None:
        self._entries: dict[str, tuple[Destination | None, float]] = {}
        self._max_size = max_size
        self._ttl = ttl_seconds
        # Bumped by every invalidation: a fill that started before one is discarded,
        # or it could store what it read just before the change.
        self.generation = 0
        self.enabled = False

    def get(self, code: str) -> Destination | object | None:
        entry = self._entries.get(code)
        if entry is None:
            return MISS
        if entry[1] < time.monotonic():
            self._entries.pop(code, None)
            return MISS
        return entry[0]

    def put(self, code: str, destination: Destination | None, generation: int) -> None:
        if not self.enabled or generation != self.generation or self._max_size == 0:
            return
        if code not in self._entries and len(self._entries) >= self._max_size:
            # Evict the oldest insertion; dicts keep insertion order.
            self._entries.pop(next(iter(self._entries)))
        self._entries[code] = (destination, time.monotonic() + self._ttl)

    def invalidate(self, codes: list[str]) -> None:
        self.generation += 1
        for code in codes:
            self._entries.pop(code, None)

    def reset(self, enabled: bool) -> None:
        """Forget everything; ``enabled`` says whether the invalidation feed is live."""
        self.generation += 1
        self._entries.clear()
        self.enabled = enabled

    def __len__(self) -> int:
        return len(self._entries)
