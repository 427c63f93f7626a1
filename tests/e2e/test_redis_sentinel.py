"""Issue 24: REDIS_URL=redis+sentinel://… — every Redis user (cache, rate limits,
sessions, invalidation pub/sub) finds the master through three real Sentinels and
follows it when the master is killed under redirects, creates and a signed-in
session; no edit accepted during or after the failover is served stale by either
redirector. Misnamed masters and a lost quorum are named on /readyz.

A Sentinel group and stack of their own (killing the session's Redis would break
the other tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness import PostgresServer, ServiceProcess
from tests.harness.redis import SENTINEL_MASTER, RedisSentinelGroup
from tests.harness.stack import component_process
from tests.support.links import EditWatch, LinkStack, api_and_two_redirectors, assert_rode_out
from tests.support.waiting import wait_for


@dataclass
class SentinelStack(LinkStack):
    group: RedisSentinelGroup
    api: ServiceProcess
    redirectors: list[ServiceProcess]


@pytest.fixture(scope="module")
def sentinel_stack(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SentinelStack]:
    base = tmp_path_factory.mktemp("sentinel")
    with RedisSentinelGroup(base / "redis") as group:
        processes = api_and_two_redirectors(postgres_server, group, base / "logs")
        with processes as (api, redirectors):
            yield SentinelStack(group, api, redirectors)


def test_clients_follow_a_killed_master_to_the_promoted_replica_and_serve_no_stale_edit(
    sentinel_stack: SentinelStack,
) -> None:
    stack = sentinel_stack
    edited = stack.new_link("https://example.com/sentinel/v0")
    steady = stack.new_link("https://example.com/sentinel/steady")
    assert stack.served(edited) == ["https://example.com/sentinel/v0"] * 2  # now cached locally
    browser = stack.sign_in()
    for process in [stack.api, *stack.redirectors]:
        answer = stack.readyz(process)
        assert answer["checks"] == {"postgres": True, "redis": True, "redis_quorum": True}

    edits = EditWatch(stack, edited, "https://example.com/sentinel")
    old = stack.group.master()
    with stack.failover_traffic(steady, edits, "https://example.com/sentinel") as traffic:
        wait_for("traffic", lambda: sum(traffic.statuses.values()) > 20)
        old.stop(kill=True)
        new = stack.group.wait_for_master_other_than(old)
        # Some edits land on the promoted master while the traffic goes on.
        settled = len(edits.accepted)
        wait_for("edits on the new master", lambda: len(edits.accepted) >= settled + 5)

    assert new is not old
    assert_rode_out(traffic, edits)

    # After the failover: an edit is seen at once by both redirectors.
    assert edits() == 200 and edits.stale == []
    # The session made before the failover still signs its browser in.
    assert browser.get("/v1/sessions").status_code == 200
    # Rate limits count on the new master (a limiter that failed open would not).
    first, second = stack.create("https://example.com/a"), stack.create("https://example.com/b")
    remaining = [int(r.headers["ratelimit-remaining"]) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1
    assert new.command("EXISTS", "short:" + steady) in {":0", ":1"}  # the new master answers
    for process in [stack.api, *stack.redirectors]:
        assert stack.readyz(process)["checks"]["redis"] is True


def test_a_misnamed_master_is_named_on_readyz_and_no_request_fails(
    sentinel_stack: SentinelStack, tmp_path: Path
) -> None:
    stack = sentinel_stack
    wrong = stack.group.url.replace(f"/{SENTINEL_MASTER}/", "/no-such-master/")
    redirector = component_process(
        "redirector", {**stack.api.env, "REDIS_URL": wrong}, tmp_path, name="misnamed"
    )
    redirector.start()
    try:
        answer = stack.readyz(redirector)
        problem = str(answer["problems"]["redis"])  # type: ignore[index]
        assert "'no-such-master'" in problem and "\n" not in problem, answer
        # Ready all the same: the redirector serves from PostgreSQL without its cache.
        assert answer["status"] == "ready"
        code = stack.new_link("https://example.com/sentinel/misnamed")
        assert httpx.get(f"{redirector.base_url}/{code}", timeout=10).status_code == 302
        assert httpx.get(f"{redirector.base_url}/nosuchcode", timeout=10).status_code == 404
    finally:
        redirector.stop()


def test_a_lost_quorum_is_named_on_readyz(sentinel_stack: SentinelStack) -> None:
    stack = sentinel_stack
    stopped = stack.group.sentinels[1:]
    for sentinel in stopped:
        sentinel.stop()
    try:

        def problem() -> str:
            answer = stack.readyz(stack.api)
            return str(answer.get("problems", {}).get("redis_quorum", ""))  # type: ignore[union-attr]

        said = wait_for("a quorum problem on /readyz", problem)
        assert "NOQUORUM" in said or "quorum" in said.lower(), said
        assert stack.readyz(stack.api)["status"] == "ready"  # the master still serves
    finally:
        for sentinel in stopped:
            sentinel.start()


def test_an_edit_no_replica_has_taken_is_not_acknowledged(sentinel_stack: SentinelStack) -> None:
    stack = sentinel_stack
    master = stack.group.master()
    replicas = [s for s in stack.group.servers if s is not master and s.process is not None]
    stack.assert_edit_refused_while_stalled("https://example.com/sentinel", replicas)
