"""The audit log on the event bus (real PostgreSQL, real Redis stream): every entry goes
out once it committed, in (transaction, id) order, none skipped when an older
transaction commits late; a failed send goes out again; retention deletes only what
has expired."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg
import orjson
import pytest

from shortlink.adapters.audit import AuditOutbox
from shortlink.adapters.redis_stream import RedisStreamTransport
from shortlink.services.audit_relay import AuditRelay
from shortlink.wiring import Backends

TOPIC = "test.audit"


class FailingOnce(RedisStreamTransport):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.failed = False

    async def send(self, topic: str, records: Sequence[bytes]) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("broker away")
        await super().send(topic, records)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def _published(backends: Backends) -> list[dict[str, object]]:
    entries = await backends.redis.xrange(TOPIC)
    return [orjson.loads(next(iter(fields.values()))) for _, fields in entries]


async def test_no_entry_is_skipped_when_an_older_transaction_commits_late(
    backends: Backends, database_url: str, conn: asyncpg.Connection
) -> None:
    relay = AuditRelay(AuditOutbox(backends.pool), RedisStreamTransport(backends.redis), TOPIC)
    late = await asyncpg.connect(database_url)
    try:
        slow = late.transaction()
        await slow.start()
        await late.execute("INSERT INTO workspaces (slug, name) VALUES ('late', 'L')")
        await conn.execute("INSERT INTO workspaces (slug, name) VALUES ('early', 'E')")

        # 'early' committed, but the older transaction holding 'late' is still open.
        assert await relay.relay() == 0
        await slow.commit()
        assert await relay.relay() == 2
    finally:
        await late.close()
    assert await relay.relay() == 0  # nothing twice
    published = await _published(backends)
    assert [(e["action"], e["workspace"]) for e in published] == [
        ("workspace.create", "late"),
        ("workspace.create", "early"),
    ]


async def test_a_failed_send_is_sent_again(backends: Backends, conn: asyncpg.Connection) -> None:
    relay = AuditRelay(AuditOutbox(backends.pool), FailingOnce(backends.redis), TOPIC)
    await conn.execute("INSERT INTO workspaces (slug, name) VALUES ('acme', 'A')")
    with pytest.raises(ConnectionError):
        await relay.relay()
    assert await relay.relay() == 1
    assert [e["workspace"] for e in await _published(backends)] == ["acme"]


async def test_the_sweep_deletes_only_entries_past_retention(
    backends: Backends, conn: asyncpg.Connection
) -> None:
    await conn.execute(
        "INSERT INTO workspaces (slug, name, audit_retention_days) VALUES ('acme', 'A', 30)"
    )
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp")
    await conn.execute(
        """INSERT INTO audit_log (workspace, at, actor_kind, actor, action, target_type, target)
           VALUES ('acme', now() - interval '31 days', 'user', 'x', 'link.update', 'link', 'a'),
                  ('acme', now() - interval '29 days', 'user', 'x', 'link.update', 'link', 'b'),
                  ('gone', now() - interval '401 days', 'user', 'x', 'link.update', 'link', 'c')"""
    )
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_stamp")
    relay = AuditRelay(AuditOutbox(backends.pool), None, TOPIC)

    assert await relay.sweep() == 2
    left = await conn.fetch("SELECT target FROM audit_log WHERE target_type = 'link'")
    assert [row["target"] for row in left] == ["b"]
