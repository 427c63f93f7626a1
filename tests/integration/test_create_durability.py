"""A create retried after an unknown outcome (the connection died at COMMIT) finds its
earlier try's row and answers 201 with it. That row may be committed on the primary
alone: killed before its synchronous standby confirmed, restarted, and (issue 18) failed
over all the same. The answer must then wait, like any commit, until a synchronous
standby has the row; else a failover after the 201 loses an acknowledged create (seen on
the node: kill -9 of the primary, `lost 1`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from shortlink.adapters.postgres import LinkRepository
from shortlink.domain.links import Link, NewLink
from tests.harness.pg_cluster import PostgresCluster

DATABASE = "shortlink"


@pytest.fixture
async def cluster(
    pg_cluster_factory: Callable[..., PostgresCluster],
) -> AsyncIterator[tuple[PostgresCluster, asyncpg.Pool]]:
    made = pg_cluster_factory(standbys=1)  # the standby synchronous, as `required` makes it
    pool = await asyncpg.create_pool(made.primary.dsn_for(), min_size=1, max_size=4)
    try:
        yield made, pool
    finally:
        await pool.close()


def _on_standby(cluster: PostgresCluster, code: str) -> bool:
    found = cluster.standbys[0].execute(
        f"SELECT count(*) FROM links WHERE code = '{code}'", database=DATABASE
    )
    return found == "1"


async def _insert_in_a_transaction(
    repo: LinkRepository, link: NewLink, code: str, token: uuid.UUID
) -> Link | None:
    """As a create under an Idempotency-Key runs it: inside the repository's transaction."""
    async with repo.transaction() as tx:
        return await tx.insert(link, code, token)


@pytest.mark.parametrize("in_transaction", [False, True], ids=["alone", "in a transaction"])
async def test_a_retried_create_answers_only_once_a_synchronous_standby_has_its_row(
    cluster: tuple[PostgresCluster, asyncpg.Pool], in_transaction: bool
) -> None:
    pg, pool = cluster
    repo = LinkRepository(pool)
    link, code, token = NewLink("https://example.com/durable", None), "durable1", uuid.uuid4()
    pg.standbys[0].stop_wal_receiver()
    # The first try: committed on the primary, never confirmed by the standby (what a
    # primary killed while waiting for the confirmation holds after its restart).
    async with pool.acquire() as conn:
        await conn.execute("SET synchronous_commit = local")
        first = await LinkRepository(conn).insert(link, code, token)
    assert first is not None and not _on_standby(pg, code)
    insert = _insert_in_a_transaction if in_transaction else LinkRepository.insert
    retry = asyncio.ensure_future(insert(repo, link, code, token))
    await asyncio.sleep(1.0)
    assert not retry.done(), "the retry answered with a row no synchronous standby has"
    pg.standbys[0].resume_wal_receiver()
    async with asyncio.timeout(10):
        again = await retry
    assert again is not None and again.code == code
    assert _on_standby(pg, code)
