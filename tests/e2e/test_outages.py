"""Each dependency killed under traffic, then restarted: the statuses clients see,
what /readyz says, what the metrics count, and recovery without a restart.

PostgreSQL and Redis of their own here (killing the session's would break the
other tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import start_stack
from tests.support.links import MakesLinks
from tests.support.prometheus import scrape
from tests.support.traffic import Traffic
from tests.support.waiting import wait_for

BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@dataclass
class Outage(MakesLinks):
    postgres: PostgresServer
    redis: RedisServer
    api: ServiceProcess
    redirector: ServiceProcess

    def visit(self, code: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.redirector.base_url}/{code}", headers=headers, timeout=10)

    def ready(self, process: ServiceProcess) -> tuple[int, dict[str, bool]]:
        answer = httpx.get(f"{process.ops_url}/readyz", timeout=5)
        return answer.status_code, answer.json()["checks"]


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    base = tmp_path_factory.mktemp("outages")
    # This server is crashed (SIGQUIT) on purpose: with the harness's default
    # synchronous_commit=off, the last acknowledged commits (a link created just before)
    # would be lost with it, and that loss is the harness's, not the system's.
    durable = {"synchronous_commit": "on"}
    with (
        PostgresServer(base / "postgres", settings=durable) as postgres,
        RedisServer(base / "redis") as redis,
    ):
        # Creates retry across a failover for SHORTLINK_DB_RETRY_WINDOW (15 s) before
        # their 503; a short window keeps this test's outage short.
        api, redirector, _ = start_stack(
            postgres, redis, base / "logs", SHORTLINK_DB_RETRY_WINDOW="1"
        )
        try:
            yield Outage(postgres, redis, api, redirector)
        finally:
            redirector.stop()
            api.stop()


def test_redis_killed_under_traffic_then_restarted(outage: Outage) -> None:
    cached = outage.new_link("https://example.com/redis/cached")
    assert outage.visit(cached).status_code == 302
    traffic = Traffic(
        [
            ("redirect", lambda: outage.visit(cached).status_code),
            ("create", lambda: outage.create("https://example.com/redis/load").status_code),
        ]
    )
    with traffic:
        time.sleep(0.3)
        outage.redis.stop(kill=True)
        # Redis only accelerates: both keep serving, from PostgreSQL.
        assert outage.create("https://example.com/redis/down").status_code == 201
        fresh = outage.new_link("https://example.com/redis/fresh")
        assert outage.visit(fresh).status_code == 302
        assert outage.visit(cached).headers["location"] == "https://example.com/redis/cached"
        for process in (outage.api, outage.redirector):
            assert outage.ready(process) == (200, {"postgres": True, "redis": False})
            assert scrape(process.ops_url, "shortlink_dependency_up", 'dependency="redis"') == 0
        time.sleep(0.5)

        outage.redis.start()  # same port: the clients reconnect on their own
        for process in (outage.api, outage.redirector):
            wait_for(
                "redis seen up again",
                lambda p=process: outage.ready(p) == (200, {"postgres": True, "redis": True}),
                15,
            )
        wait_for(  # the invalidation feed is back, so is the in-process cache
            "the local cache back on",
            lambda: scrape(outage.redirector.ops_url, "shortlink_local_cache_enabled") == 1,
            15,
        )
        time.sleep(0.3)
    assert set(traffic.statuses) == {("redirect", 302), ("create", 201)}, traffic.statuses
    assert scrape(outage.redirector.ops_url, "shortlink_dependency_up", 'dependency="redis"') == 1


def test_postgres_killed_under_traffic_then_restarted(outage: Outage) -> None:
    cached = outage.new_link("https://example.com/pg/cached")
    assert outage.visit(cached).status_code == 302  # now in the caches
    uncached = outage.new_link("https://example.com/pg/uncached")
    assert outage.redis.command("DEL", f"short:{uncached}") == ":1"  # only PostgreSQL has it
    traffic = Traffic(
        [
            ("cached", lambda: outage.visit(cached).status_code),
            ("create", lambda: outage.create("https://example.com/pg/load").status_code),
        ]
    )
    with traffic:
        time.sleep(0.3)
        outage.postgres.stop(immediate=True)  # SIGQUIT: like a crash

        assert outage.visit(cached).status_code == 302  # cached links keep redirecting
        started = time.monotonic()
        refused = outage.visit(uncached)
        assert time.monotonic() - started < 2.0  # fast, not held while the DB is gone
        assert refused.status_code == 503
        assert refused.json()["error"] == "DATABASE_UNAVAILABLE"
        assert int(refused.headers["retry-after"]) > 0
        page = outage.visit(uncached, **BROWSER)
        assert page.status_code == 503 and "temporarily unavailable" in page.text
        assert page.headers["content-type"].startswith("text/html")

        create = outage.create("https://example.com/pg/down")
        assert create.status_code == 503, create.text
        assert create.json()["error"] == "DATABASE_UNAVAILABLE"
        assert int(create.headers["retry-after"]) > 0

        assert outage.ready(outage.api) == (503, {"postgres": False, "redis": True})
        assert outage.ready(outage.redirector) == (200, {"postgres": False, "redis": True})
        for process in (outage.api, outage.redirector):
            assert scrape(process.ops_url, "shortlink_dependency_up", 'dependency="postgres"') == 0
            assert (
                scrape(process.ops_url, "shortlink_unavailable_responses_total",
                       'dependency="postgres"') >= 1
            )  # fmt: skip
        assert (
            scrape(outage.redirector.ops_url, "shortlink_redirects_total",
                   'outcome="unavailable",source="db"') >= 2
        )  # fmt: skip
        time.sleep(0.5)

        outage.postgres.start()  # the pools reconnect on their own
        wait_for(
            "the API ready again",
            lambda: outage.ready(outage.api) == (200, {"postgres": True, "redis": True}),
            20,
        )
        assert outage.visit(uncached).status_code == 302
        assert outage.create("https://example.com/pg/back").status_code == 201
        time.sleep(0.3)
    statuses = traffic.statuses
    assert {status for (name, status) in statuses if name == "cached"} == {302}, statuses
    assert {status for (name, status) in statuses if name == "create"} <= {201, 503}, statuses
    assert statuses["create", 503] > 0 and statuses["create", 201] > 0, statuses
