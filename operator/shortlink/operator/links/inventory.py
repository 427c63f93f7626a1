"""What the operator last wrote for each ShortLink it manages, kept in memory.

Filled by the handlers (kopf resumes every resource at start, so a restart rebuilds
it), read by the drift check. Per-resource locks keep a handler and a drift repair
of the same resource from interleaving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shortlink.operator.links.reconcile import Desired
from shortlink.operator.resource import ObjectRef


@dataclass(frozen=True, slots=True)
class Tracked:
    ref: ObjectRef
    desired: Desired
    code: str
    password_hash: str | None  # the hash written to the row
    password_digest: str | None  # SHA-256 of the Secret's value it was made from
    namespace_uid: str  # of the namespace it was written in (the row records it too)


class Inventory:
    def __init__(self) -> None:
        self._tracked: dict[str, Tracked] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}
        self._not_ready: set[str] = set()

    def __len__(self) -> int:
        return len(self._tracked)

    def get(self, key: str) -> Tracked | None:
        return self._tracked.get(key)

    def track(self, tracked: Tracked) -> None:
        self._tracked[tracked.ref.key] = tracked

    def forget(self, key: str) -> None:
        self._tracked.pop(key, None)

    def note_ready(self, key: str, ready: bool) -> None:
        """Remember whether the last reconcile left the resource's Ready condition True."""
        if ready:
            self._not_ready.discard(key)
        else:
            self._not_ready.add(key)

    def forget_readiness(self, key: str) -> None:
        self._not_ready.discard(key)

    @property
    def not_ready(self) -> int:
        return len(self._not_ready)

    def snapshot(self) -> list[Tracked]:
        return list(self._tracked.values())

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Exclusive per resource; the lock is dropped when nobody holds or awaits it,
        so 10,000 resources don't keep 10,000 locks."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:
                del self._waiters[key]
                del self._locks[key]
