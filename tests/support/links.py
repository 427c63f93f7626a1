"""Creating links through a running API process, for end-to-end tests that break things."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.harness import PostgresServer, ServiceProcess
from tests.harness.redis import RedisClusterGroup, RedisSentinelGroup, RedisServer
from tests.harness.stack import API_KEY, component_process, start_stack
from tests.support.traffic import Traffic

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def new_link_at(api_url: str, target: str, api_key: str = API_KEY) -> str:
    """A link created through the API at ``api_url`` (a process's, or a Service's
    address on the test cluster); its code."""
    created = httpx.post(
        f"{api_url}/v1/urls",
        json={"original_url": target},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["short_code"])


class MakesLinks:
    """For a test's stack object holding its API process as ``api``."""

    api: ServiceProcess

    def create(self, target: str) -> httpx.Response:
        return httpx.post(
            f"{self.api.base_url}/v1/urls", json={"original_url": target}, headers=AUTH, timeout=10
        )

    def new_link(self, target: str) -> str:
        return new_link_at(self.api.base_url, target)


class LinkStack(MakesLinks):
    """An API and the redirectors serving its links, to edit and look through."""

    redirectors: list[ServiceProcess]

    def edit(self, code: str, target: str) -> int:
        return httpx.patch(
            f"{self.api.base_url}/v1/urls/{code}",
            json={"original_url": target},
            headers=AUTH,
            timeout=10,
        ).status_code

    def served(self, code: str) -> list[str]:
        """Where each redirector sends ``code`` now."""
        return [
            httpx.get(f"{r.base_url}/{code}", timeout=10).headers.get("location", "")
            for r in self.redirectors
        ]

    def readyz(self, process: ServiceProcess) -> dict[str, object]:
        return dict(httpx.get(f"{process.ops_url}/readyz", timeout=5).json())

    def sign_in(self) -> httpx.Client:
        """A browser signed in with a session (its CSRF token sent along)."""
        origin = self.api.base_url.rstrip("/")
        browser = httpx.Client(base_url=origin, headers={"Origin": origin}, timeout=10)
        created = browser.post("/v1/sessions", json={"api_key": API_KEY})
        assert created.status_code == 201, created.text
        browser.headers["X-CSRF-Token"] = created.json()["csrf_token"]
        return browser

    def assert_edit_refused_while_stalled(self, base: str, replicas: Sequence[RedisServer]) -> None:
        """Replication is asynchronous: an invalidation only a master holds would be lost
        with it, and the promoted replica would serve the old link for a day. With
        ``replicas`` stalled, an edit is refused and rolled back, not answered 200."""
        code = self.new_link(f"{base}/wait-v1")
        with stalled(replicas):
            status = self.edit(code, f"{base}/wait-v2")
        assert status == 503
        assert self.served(code) == [f"{base}/wait-v1"] * len(self.redirectors)  # rolled back
        assert self.edit(code, f"{base}/wait-v3") == 200  # replicas back

    def failover_traffic(self, steady: str, edits: EditWatch, base: str) -> Traffic:
        """Redirects of ``steady`` through each redirector, creates and ``edits``."""
        redirects = [
            (
                f"redirect-{n}",
                lambda r=r: httpx.get(f"{r.base_url}/{steady}", timeout=10).status_code,
            )
            for n, r in enumerate(self.redirectors)
        ]
        creates = ("create", lambda: self.create(f"{base}/load").status_code)
        return Traffic([*redirects, creates, ("edit", edits)])


def assert_rode_out(traffic: Traffic, edits: EditWatch) -> None:
    """No edit served stale; redirects never failed (the cache's outage falls back to
    PostgreSQL); creates and edits succeeded, or 503 while no master was known."""
    assert edits.stale == [], f"edits served stale: {edits.stale}"
    by_name: dict[str, set[object]] = {}
    for name, status in traffic.statuses:
        by_name.setdefault(name, set()).add(status)
    for name, statuses in by_name.items():
        if name.startswith("redirect-"):
            assert statuses == {302}, traffic.statuses
    assert by_name.get("create", set()) <= {201, 503}, traffic.statuses
    assert by_name.get("edit", set()) <= {200, 503}, traffic.statuses


@dataclass
class EditWatch:
    """Edits ``code`` to a new target per call; once one is accepted, every redirector
    must serve it at once (else it is recorded in ``stale``)."""

    stack: LinkStack
    code: str
    base: str
    accepted: list[str] = field(default_factory=list)
    stale: list[tuple[str, list[str]]] = field(default_factory=list)
    _versions: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __call__(self) -> int:
        target = f"{self.base}/v{next(self._versions)}"
        status = self.stack.edit(self.code, target)
        if status == 200:
            self.accepted.append(target)
            if (seen := self.stack.served(self.code)) != [target] * len(self.stack.redirectors):
                self.stale.append((target, seen))
        return status


@contextmanager
def stalled(servers: Sequence[RedisServer]) -> Iterator[None]:
    """``servers`` SIGSTOPped (connected, answering nothing), then SIGCONTed."""
    assert servers
    pids = []
    for server in servers:
        assert server.process is not None
        pids.append(server.process.pid)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


@contextmanager
def api_and_two_redirectors(
    postgres: PostgresServer,
    redis: RedisSentinelGroup | RedisClusterGroup,
    log_dir: Path,
) -> Iterator[tuple[ServiceProcess, list[ServiceProcess]]]:
    """An API and two redirectors on ``redis`` (each redirector its own cache and feed)."""
    api, redirector, database_url = start_stack(
        postgres, redis, log_dir, SHORTLINK_RATE_LIMIT="1000/minute"
    )
    env = {**api.env, "DATABASE_URL": database_url}
    second = component_process("redirector", env, log_dir, name="redirector-2")
    second.start()
    try:
        yield api, [redirector, second]
    finally:
        for process in (second, redirector, api):
            process.stop()
