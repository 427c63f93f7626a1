"""The DB access layer across a PostgreSQL failover, on a real replicated cluster.

The operator isn't in these tests: the test itself kills, picks and promotes,
as the operator will. What is checked is the applications' side of seed flow 8.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
import pytest

from shortlink.adapters.database import Database
from shortlink.adapters.postgres import LinkRepository
from shortlink.config import Settings
from shortlink.domain.errors import DatabaseUnavailable
from shortlink.domain.links import Link, NewLink
from shortlink.services.bulk_links import BulkLinkService
from shortlink.services.links import CreateLink, LinkService
from shortlink.services.write_retry import WriteRetry
from shortlink.wiring import Backends, link_service, open_backends
from tests.harness.pg_cluster import ClusterMember, PostgresCluster
from tests.integration.conftest import SECRET


def cluster_settings(cluster: PostgresCluster, redis_url: str, **extra: str) -> Settings:
    env: Mapping[str, str] = {
        "DATABASE_URL": cluster.dsn(),
        "REDIS_URL": redis_url,
        "SHORTLINK_SECRET_KEY": SECRET,
        "SHORTLINK_BASE_URL": "https://sho.rt",
        "SHORTLINK_DB_CONNECT_TIMEOUT": "0.5",
        **extra,
    }
    return Settings.from_env(env)


def most_advanced(standbys: list[ClusterMember]) -> ClusterMember:
    """The standby with the highest received LSN: the operator's choice (with ANY 1
    synchronous standbys, only that one surely has every acknowledged commit)."""
    return max(standbys, key=lambda s: int(s.execute("SELECT pg_last_wal_receive_lsn() - '0/0'")))


async def server_port(database: Database) -> int:
    return int(await database.pool.fetchval("SELECT inet_server_port()"))


async def test_connects_to_the_primary_past_a_frozen_host(pg_cluster: PostgresCluster) -> None:
    primary, first, second = pg_cluster.members
    second.freeze()  # accepts TCP, never answers: asyncpg's own multi-host connect would hang
    started = time.monotonic()
    database = await Database.open(
        pg_cluster.dsn(members=[second, first, primary]), min_size=1, connect_timeout=0.5
    )
    try:
        assert time.monotonic() - started < 5
        assert await server_port(database) == primary.port
    finally:
        await database.close()
        second.thaw()


async def test_kill_9_during_concurrent_creates_loses_and_doubles_nothing(
    pg_cluster: PostgresCluster, redis_url: str
) -> None:
    """Seed flow 8 with manual promotion: 8 clients create links; the primary is
    killed -9 mid-stream and a standby promoted ~2 s later. Every create that
    returned is on the new primary exactly once; none failed but with 503."""
    settings = cluster_settings(pg_cluster, redis_url, SHORTLINK_DB_RETRY_WINDOW="8")
    backends = await open_backends(settings)
    links = link_service(backends, settings)
    created: dict[str, str] = {}  # target -> code, as the clients were told
    unavailable = 0
    stop = asyncio.Event()
    enough = asyncio.Event()  # set once `goal` creates were acknowledged
    goal = 100

    async def client(number: int) -> None:
        nonlocal unavailable
        n = 0
        while not stop.is_set():
            target = f"https://example.com/{number}/{n}"
            n += 1
            try:
                link = await links.create("alice", CreateLink(target))
            except DatabaseUnavailable:
                unavailable += 1
                continue
            created[target] = link.code
            if len(created) >= goal:
                enough.set()

    clients = [asyncio.create_task(client(i)) for i in range(8)]
    try:
        await asyncio.wait_for(enough.wait(), 30)
        pg_cluster.primary.kill()
        at_kill = len(created)
        enough.clear()
        goal = at_kill + 200
        await asyncio.sleep(2.0)  # the operator's failoverDelay, shortened
        new = most_advanced(pg_cluster.standbys)
        pg_cluster.promote(new)
        for standby in pg_cluster.standbys:
            if standby.process is not None:
                standby.follow(new)
        await asyncio.wait_for(enough.wait(), 30)  # writes resumed on the new primary
    finally:
        stop.set()
        outcomes = await asyncio.gather(*clients, return_exceptions=True)
        await backends.close()
    assert [o for o in outcomes if o is not None] == []  # nothing but 201 or 503

    rows = await fetch_links(new)
    by_target: dict[str, list[str]] = {}
    for code, target in rows:
        by_target.setdefault(target, []).append(code)
    assert all(len(codes) == 1 for codes in by_target.values()), "no link created twice"
    lost = {t: c for t, c in created.items() if by_target.get(t) != [c]}
    assert lost == {}, "every acknowledged create is on the new primary"
    assert unavailable <= 16  # at most the creates in flight per client during the outage


async def fetch_links(member: ClusterMember) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(member.dsn_for())
    try:
        return [
            (r["code"], r["target"]) for r in await conn.fetch("SELECT code, target FROM links")
        ]
    finally:
        await conn.close()


class LosesFirstAcknowledgement(LinkRepository):
    """Commits, then reports the connection lost, once: what a client sees when
    the primary dies between COMMIT and its reply."""

    def __init__(self, db: asyncpg.Pool) -> None:
        super().__init__(db)
        self.losses = 0

    def _lose_once(self) -> None:
        if self.losses == 0:
            self.losses += 1
            raise ConnectionResetError("connection lost after COMMIT")

    async def insert(self, link: NewLink, code: str, token: UUID) -> Link | None:
        inserted = await super().insert(link, code, token)
        self._lose_once()
        return inserted

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LinkRepository]:
        async with super().transaction() as tx:
            yield tx
        self._lose_once()


@pytest.fixture
def lossy_links(
    backends: Backends, settings: Settings
) -> tuple[LinkService, LosesFirstAcknowledgement]:
    repo = LosesFirstAcknowledgement(backends.pool)
    service = LinkService(
        repo=repo,
        cache=backends.cache,
        policy=settings.url_policy,
        retry=WriteRetry(window=0.3),
    )
    return service, repo


async def count(backends: Backends, sql: str) -> int:
    return int(await backends.pool.fetchval(sql))


@pytest.mark.parametrize("alias", [None, "lost-ack"])
async def test_a_create_whose_commit_reply_was_lost_resolves_to_its_one_row(
    lossy_links: tuple[LinkService, LosesFirstAcknowledgement],
    backends: Backends,
    alias: str | None,
) -> None:
    links, repo = lossy_links
    link = await links.create("alice", CreateLink("https://example.com/once", custom_alias=alias))
    assert repo.losses == 1  # the first try committed but looked failed
    assert await count(backends, "SELECT count(*) FROM links") == 1
    assert (await repo.get(link.code)) == link
    if alias is not None:
        assert link.code == alias  # ours, not ALIAS_TAKEN


async def test_a_bulk_create_whose_commit_reply_was_lost_resolves_to_its_rows(
    lossy_links: tuple[LinkService, LosesFirstAcknowledgement], backends: Backends
) -> None:
    links, repo = lossy_links
    await links.create("bob", CreateLink("https://example.com/bobs", custom_alias="taken"))
    requests = [CreateLink(f"https://example.com/{i}") for i in range(5)]
    requests += [
        CreateLink("https://example.com/a", custom_alias="mine"),
        CreateLink("https://example.com/b", custom_alias="taken"),
    ]
    results = await BulkLinkService(links).create("alice", requests)
    assert repo.losses == 1
    assert await count(backends, "SELECT count(*) FROM links WHERE owner = 'alice'") == 6
    made = [r.link for r in results if r.link is not None]
    assert len(made) == 6 and results[5].link is not None and results[5].link.code == "mine"
    assert results[6].error is not None and results[6].error.code == "ALIAS_TAKEN"
    for link in made:
        assert await repo.get(link.code) == link


async def test_the_pool_never_writes_to_a_fenced_old_primary(pg_cluster: PostgresCluster) -> None:
    old, new, other = pg_cluster.members
    database = await Database.open(pg_cluster.dsn(), min_size=3, max_size=3, connect_timeout=0.5)
    retry = WriteRetry(database.reset, window=3.0)
    try:
        await database.pool.execute("CREATE TABLE probe (port int)")
        # Fence the old primary (read-only, as the operator does), then promote.
        old.alter_system({"default_transaction_read_only": "on"})
        pg_cluster.promote(new)
        other.follow(new)

        async def write() -> int:
            port = await server_port(database)
            await database.pool.execute("INSERT INTO probe VALUES (inet_server_port())")
            return port

        ports = [await retry(write) for _ in range(10)]
    finally:
        await database.close()
    assert set(ports) == {new.port}
    assert new.execute("SELECT count(*) FROM probe", "shortlink") == "10"
    assert old.execute("SELECT count(*) FROM probe", "shortlink") == "0"
