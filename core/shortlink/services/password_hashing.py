"""bcrypt off the event loop, on threads of its own.

bcrypt is ~50 ms of CPU a hash by design. On asyncio's default executor it would
queue ahead of everything else sent there (unlock checks, stats, DNS), so a burst
of password-protected creates could stall them all. Here it gets a small pool:
hashing waits its turn, the rest of the process doesn't.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from shortlink.domain import passwords

HASHING_THREADS = 2


class PasswordHasher:
    def __init__(self, threads: int = HASHING_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bcrypt")

    async def hash_all(self, plain: Sequence[str]) -> list[str]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, lambda: [passwords.hash_password(p) for p in plain]
        )

    async def hash(self, plain: str) -> str:
        [hashed] = await self.hash_all([plain])
        return hashed

    async def check(self, plain: str, password_hash: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, passwords.check_password, plain, password_hash
        )


# One per process: the bound is on the process's CPU, whoever hashes.
HASHER = PasswordHasher()
