"""The audit log on real PostgreSQL: append-only even for the table's owner, written in
the changing transaction, naming who (and from where) made each change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shortlink.adapters.audit import audit_context
from shortlink.domain.access import key_principal
from shortlink.domain.audit import AuditContext, AuditFilter
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends

INITIAL = "initial-admin-key-0123456789"
CONTEXT = AuditContext("key", "key:1", "203.0.113.9", "curl/8.5", "req-42")


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the database's superuser: more than any application role."""
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
def as_caller() -> AsyncIterator[None]:
    token = audit_context.set(CONTEXT)
    yield None
    audit_context.reset(token)


async def _one_entry(conn: asyncpg.Connection) -> int:
    await conn.execute("INSERT INTO workspaces (slug, name) VALUES ('acme', 'Acme')")
    return int(await conn.fetchval("SELECT max(id) FROM audit_log"))


async def test_no_one_can_rewrite_or_delete_recent_entries(conn: asyncpg.Connection) -> None:
    entry = await _one_entry(conn)
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
    assert await conn.fetchval("SELECT actor FROM audit_log WHERE id = $1", entry) != (
        "someone else"
    )


async def test_an_entry_cannot_be_backdated_to_make_it_deletable(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """INSERT INTO audit_log (workspace, at, actor_kind, actor, action, target_type, target)
           VALUES ('acme', now() - interval '10 years', 'user', 'x', 'link.delete', 'link', 'c')"""
    )
    assert await conn.fetchval("SELECT at > now() - interval '1 minute' FROM audit_log") is True
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM audit_log")


async def test_entries_past_their_workspaces_retention_may_be_deleted(
    conn: asyncpg.Connection,
) -> None:
    await _one_entry(conn)
    await conn.execute("UPDATE workspaces SET audit_retention_days = 30 WHERE slug = 'acme'")
    # Only the superuser can lift the stamp trigger: to plant an old entry for this test.
    await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp")
    await conn.execute(
        """INSERT INTO audit_log (workspace, at, actor_kind, actor, action, target_type, target)
           VALUES ('acme', now() - interval '31 days', 'user', 'x', 'link.delete', 'link', 'old'),
                  ('acme', now() - interval '29 days', 'user', 'x', 'link.delete', 'link', 'new')"""
    )
    await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_stamp")

    assert await conn.execute("DELETE FROM audit_log WHERE target = 'old'") == "DELETE 1"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM audit_log WHERE target = 'new'")


async def test_link_changes_are_logged_with_who_where_and_a_diff(
    backends: Backends, links: LinkService, as_caller: None
) -> None:
    keys = ApiKeyService(backends.api_keys, backends.workspaces, cache_seconds=0)
    await keys.bootstrap(INITIAL)
    link = await links.create("admin", CreateLink("https://example.com/a", custom_alias="promo"))
    await links.update("admin", link.code, {"password": "s3cret-pass", "is_active": False})
    await links.delete("admin", link.code)

    entries = await backends.audit.find("admin", AuditFilter(target_type="link"))

    assert [e.action for e in entries] == ["link.delete", "link.update", "link.create"]
    deleted, updated, created = entries
    assert (created.actor_kind, created.actor, created.ip, created.user_agent) == (
        "key", "key:1", "203.0.113.9", "curl/8.5",
    )  # fmt: skip
    assert created.request_id == "req-42" and created.target == "promo"
    assert created.after is not None and created.after["target"] == "https://example.com/a"
    # An update shows only what changed; a password only as a fingerprint of its hash.
    assert updated.before == {"is_active": True, "password": None}
    assert updated.after is not None and set(updated.after) == {"is_active", "password"}
    assert updated.after["password"].startswith("set:") and "$2" not in str(updated.after)
    assert deleted.before is not None and deleted.before["deleted_at"] is None


async def test_a_change_that_rolls_back_leaves_no_entry(
    backends: Backends, links: LinkService, as_caller: None
) -> None:
    keys = ApiKeyService(backends.api_keys, backends.workspaces, cache_seconds=0)
    await keys.bootstrap(INITIAL)
    link = await links.create("admin", CreateLink("https://example.com/a"))
    before = await backends.audit.find("admin", AuditFilter())
    with pytest.raises(RuntimeError, match="after the change"):
        async with backends.links.transaction() as tx:
            assert await tx.update(link.code, "admin", {"is_active": False}) is not None
            raise RuntimeError("something failed after the change")
    assert await backends.audit.find("admin", AuditFilter()) == before
    assert (await links.get("admin", link.code)).is_active


async def test_key_changes_are_logged_without_the_secret(
    backends: Backends, as_caller: None
) -> None:
    keys = ApiKeyService(backends.api_keys, backends.workspaces, cache_seconds=0)
    admin = await keys.bootstrap(INITIAL)
    assert admin is not None
    secret, minted = await keys.create(key_principal(admin), "ci", "team-a", False)
    await keys.revoke(key_principal(admin), minted.id)

    entries = await backends.audit.find("team-a", AuditFilter())

    assert [e.action for e in entries] == ["key.revoke", "key.create", "workspace.create"]
    assert all(e.actor == "key:1" for e in entries)
    assert entries[1].after is not None and entries[1].after["role"] == "admin"
    assert "key_hash" not in entries[1].after and secret not in str(entries)


async def test_click_bookkeeping_is_no_ones_change(
    backends: Backends, links: LinkService, conn: asyncpg.Connection, as_caller: None
) -> None:
    keys = ApiKeyService(backends.api_keys, backends.workspaces, cache_seconds=0)
    await keys.bootstrap(INITIAL)
    link = await links.create("admin", CreateLink("https://example.com/a"))
    before = await backends.audit.find("admin", AuditFilter())
    await conn.execute("UPDATE links SET clicks_reserved = 100 WHERE code = $1", link.code)
    assert await backends.audit.find("admin", AuditFilter()) == before
