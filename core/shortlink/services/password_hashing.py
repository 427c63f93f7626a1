"""bcrypt off the event loop, on threads of its own, with bounded queues.

bcrypt is ~50 ms of CPU a hash by design. On asyncio's default executor it would
queue ahead of everything else sent there (stats, DNS), so it gets pools of its own:

- hashing (creates, password edits): two threads, and at most ``queue`` passwords
  waiting (an idle pool takes any one request); beyond that HashingBusy (503 with
  Retry-After), so one tenant's burst of password creates can't pile up minutes of
  work in memory;
- checks (public unlocks, the operator's comparisons): a thread of their own, so an
  unlock never waits behind queued creates; bounded the same way.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shortlink.domain import passwords
from shortlink.domain.errors import HashingBusy

T = TypeVar("T")

HASHING_THREADS = 2
CHECK_THREADS = 1
# Passwords waiting to be hashed: two full bulk requests (100 each);
# SHORTLINK_BCRYPT_QUEUE.
HASHING_QUEUE = 200
CHECK_QUEUE = 64
_SECONDS_PER_HASH = 0.05  # cost 10 on one core: for Retry-After only


class _BoundedPool:
    def __init__(self, name: str, threads: int, queue: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._threads = threads
        self._queue = queue
        self._waiting = 0  # passwords submitted and not finished

    def resize(self, queue: int) -> None:
        self._queue = queue

    async def run(self, passwords_in_job: int, job: Callable[[], T]) -> T:
        # An idle pool takes any one job, so no request is refused for good.
        if self._waiting and self._waiting + passwords_in_job > self._queue:
            drain = self._waiting * _SECONDS_PER_HASH / self._threads
            raise HashingBusy(
                "Too many passwords are being processed right now; try again shortly",
                retry_after=max(1, math.ceil(drain)),
            )
        self._waiting += passwords_in_job
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, job)
        finally:
            self._waiting -= passwords_in_job


class PasswordHasher:
    def __init__(
        self,
        threads: int = HASHING_THREADS,
        queue: int = HASHING_QUEUE,
        check_threads: int = CHECK_THREADS,
        check_queue: int = CHECK_QUEUE,
    ) -> None:
        self._hashing = _BoundedPool("bcrypt", threads, queue)
        self._checks = _BoundedPool("bcrypt-check", check_threads, check_queue)

    def limit_queue(self, passwords: int) -> None:
        """At most this many passwords waiting to be hashed (SHORTLINK_BCRYPT_QUEUE)."""
        self._hashing.resize(passwords)

    async def hash_all(self, plain: Sequence[str]) -> list[str]:
        """Every password hashed, in one hop (HashingBusy if they don't fit the queue)."""
        return await self._hashing.run(
            len(plain), lambda: [passwords.hash_password(p) for p in plain]
        )

    async def hash(self, plain: str) -> str:
        [hashed] = await self.hash_all([plain])
        return hashed

    async def check(self, plain: str, password_hash: str) -> bool:
        return await self._checks.run(1, lambda: passwords.check_password(plain, password_hash))


# One per process: the bound is on the process's CPU, whoever hashes.
HASHER = PasswordHasher()
