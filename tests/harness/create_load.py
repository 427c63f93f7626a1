"""A steady create load through the real API, and what became of every create.

``CreateLoad`` runs concurrent clients that each POST /v1/urls with a unique target
and record every answer (status, body, when it was sent and answered). ``outcome``
then compares the acknowledged creates (201) with the rows a database holds: which
were lost, which were stored twice. Both the failover scenario test and the
``failover`` benchmark use them.

Plain Python (no pytest): the benchmark imports it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.harness.pg_cluster import DATABASE, ClusterMember
from tests.harness.stack import API_KEY

FAILOVER_TARGETS = "https://failover.test/"


@dataclass(frozen=True, slots=True)
class CreateAnswer:
    target: str
    status: int  # 0: no HTTP answer at all (the connection failed or timed out)
    body: dict[str, Any]
    sent_at: float  # time.time(), comparable with PostgreSQL's now() on this machine
    answered_at: float

    @property
    def acknowledged(self) -> bool:
        return self.status == 201

    @property
    def latency_ms(self) -> float:
        return (self.answered_at - self.sent_at) * 1000


class CreateLoad:
    """``clients`` concurrent clients, each sending its next create as soon as the
    last one is answered (a closed loop: a stalled API stalls the load, as real
    clients waiting on their 201 would). Targets are ``prefix`` + a number, unique."""

    def __init__(
        self,
        base_url: str,
        *,
        clients: int = 8,
        prefix: str = FAILOVER_TARGETS,
        api_key: str = API_KEY,
        timeout: float = 60,
    ) -> None:
        self.base_url = base_url
        self.clients = clients
        self.prefix = prefix
        self.api_key = api_key
        self.timeout = timeout
        self.answers: dict[str, CreateAnswer] = {}
        self._answered = asyncio.Condition()

    async def run(self, *, total: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Until ``total`` creates were sent, or ``stop`` is set (then in-flight ones
        are still waited for)."""
        numbers: Iterable[int] = range(total) if total is not None else itertools.count()
        pending = iter(numbers)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=self.timeout
        ) as http:
            await asyncio.gather(*(self._client(http, pending, stop) for _ in range(self.clients)))

    async def _client(
        self, http: httpx.AsyncClient, pending: Iterable[int], stop: asyncio.Event | None
    ) -> None:
        for number in pending:
            if stop is not None and stop.is_set():
                return
            target = f"{self.prefix}{number}"
            sent_at = time.time()
            try:
                response = await http.post("/v1/urls", json={"original_url": target})
                status, body = response.status_code, response.json()
            except (httpx.HTTPError, ValueError) as exc:
                status, body = 0, {"error": repr(exc)}
            self.answers[target] = CreateAnswer(target, status, body, sent_at, time.time())
            async with self._answered:
                self._answered.notify_all()

    async def wait_answered(self, count: int) -> None:
        """Until at least ``count`` creates were answered."""
        async with self._answered:
            await self._answered.wait_for(lambda: len(self.answers) >= count)


@dataclass(frozen=True, slots=True)
class StoredLink:
    target: str
    code: str
    created_at: float  # epoch seconds, PostgreSQL's now() of the transaction


def stored_links(member: ClusterMember, prefix: str = FAILOVER_TARGETS) -> list[StoredLink]:
    """Every link under ``prefix`` on ``member``."""
    rows = member.execute(
        "SELECT target, code, extract(epoch FROM created_at) FROM links"
        f" WHERE target LIKE '{prefix}%'",
        database=DATABASE,
    )
    found = []
    for line in rows.splitlines():
        if line:
            target, code, created_at = line.split("|")
            found.append(StoredLink(target, code, float(created_at)))
    return found


@dataclass(frozen=True)
class Outcome:
    """The acknowledged creates against the rows: nothing lost, nothing doubled?"""

    acknowledged: dict[str, str]  # target -> the code the client was given
    lost: dict[str, str] = field(default_factory=dict)  # acknowledged, but no such row
    duplicate_rows: int = 0  # rows beyond the first for one target
    statuses: Counter[int] = field(default_factory=Counter)


def outcome(answers: Iterable[CreateAnswer], stored: Iterable[StoredLink]) -> Outcome:
    answered = list(answers)
    rows = list(stored)
    acknowledged = {a.target: str(a.body["short_code"]) for a in answered if a.acknowledged}
    present = {(row.target, row.code) for row in rows}
    per_target = Counter(row.target for row in rows)
    return Outcome(
        acknowledged=acknowledged,
        lost={t: c for t, c in acknowledged.items() if (t, c) not in present},
        duplicate_rows=sum(count - 1 for count in per_target.values()),
        statuses=Counter(a.status for a in answered),
    )
