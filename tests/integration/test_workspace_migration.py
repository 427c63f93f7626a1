"""Migration 0007 on a database that holds the old schema (0001-0006) with data:
every owner becomes a workspace of that name, existing keys keep working with the
powers they had, and no owner's links become visible to another."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shortlink.adapters.migrations import apply_migrations
from shortlink.domain.access import key_principal
from shortlink.domain.api_keys import hash_api_key
from shortlink.domain.errors import NotFound
from shortlink.domain.workspaces import Role
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends
from tests.harness import PostgresServer

_names = itertools.count()
ADMIN, TEAM_A, TEAM_B, MINTED = (f"sl_old_{name}_key_0123456789" for name in "abcd")


async def _old_database(conn: asyncpg.Connection) -> None:
    """What a 0006 install holds: an admin key, two tenants' keys (one minted by
    another), their links, an anonymous link, a ShortLink's row, an idempotency key."""
    rows = [
        (ADMIN, "initial", "admin", True, None),
        (TEAM_A, "ci", "team-a", False, None),
        (TEAM_B, "ci", "team-b", False, None),
    ]
    ids = {}
    for secret, name, owner, is_admin, created_by in rows:
        ids[secret] = await conn.fetchval(
            """INSERT INTO api_keys (key_hash, prefix, name, owner, is_admin, created_by)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            hash_api_key(secret), secret[:9], name, owner, is_admin, created_by,
        )  # fmt: skip
    await conn.execute(
        """INSERT INTO api_keys (key_hash, prefix, name, owner, is_admin, created_by)
           VALUES ($1, 'sl_old_d', 'rotated', 'team-a', false, $2)""",
        hash_api_key(MINTED),
        ids[TEAM_A],
    )
    await conn.executemany(
        "INSERT INTO links (code, target, owner) VALUES ($1, $2, $3)",
        [
            ("alpha01", "https://a.example/1", "team-a"),
            ("alpha02", "https://a.example/2", "team-a"),
            ("bravo01", "https://b.example/1", "team-b"),
            ("admin01", "https://admin.example/", "admin"),
            ("anon001", "https://anyone.example/", None),
            ("only-in-links", "https://c.example/", "team-c"),  # an owner without keys
        ],
    )
    await conn.execute(
        """INSERT INTO links (code, target, owner, managed_by, managed_uid)
           VALUES ('gitops1', 'https://k8s.example/', NULL, 'team-a/promo', 'uid-1')"""
    )
    await conn.execute(
        """INSERT INTO idempotency_keys (owner, key, fingerprint, status, body)
           VALUES ('team-d', 'k1', 'f', 201, '{}')"""
    )


@pytest.fixture
async def old_database(postgres_server: PostgresServer) -> AsyncIterator[str]:
    name = f"old_schema_{next(_names)}"
    dsn = postgres_server.create_database(name)
    applied = await apply_migrations(dsn, until=6)
    assert applied[-1].startswith("0006_")
    conn = await asyncpg.connect(dsn)
    try:
        await _old_database(conn)
    finally:
        await conn.close()
    yield dsn
    postgres_server.drop_database(name)


async def test_every_owner_becomes_a_workspace_and_keys_keep_their_powers(
    old_database: str,
) -> None:
    assert (await apply_migrations(old_database))[0] == "0007_workspaces_audit"

    conn = await asyncpg.connect(old_database)
    try:
        workspaces = await conn.fetch("SELECT slug, name FROM workspaces ORDER BY slug")
        keys = await conn.fetch("SELECT name, owner, is_admin, role FROM api_keys ORDER BY id")
        audit = await conn.fetchval("SELECT count(*) FROM audit_log")
    finally:
        await conn.close()
    assert [(w["slug"], w["name"]) for w in workspaces] == [
        (slug, slug) for slug in ("admin", "team-a", "team-b", "team-c", "team-d")
    ]
    # Admin keys own their workspace (and stay instance administrators); other keys
    # could manage their owner's keys before, which is what the admin role may do.
    assert [(k["owner"], k["is_admin"], k["role"]) for k in keys] == [
        ("admin", True, "owner"),
        ("team-a", False, "admin"),
        ("team-b", False, "admin"),
        ("team-a", False, "admin"),
    ]
    assert audit == 0  # the migration itself is no one's change


@pytest.fixture
def database_url(old_database: str) -> str:
    """The integration fixtures' services, on the old database (migrated in the test)."""
    return old_database


async def test_old_keys_still_see_only_their_own_links_after_the_migration(
    old_database: str, backends: Backends, links: LinkService
) -> None:
    await apply_migrations(old_database)
    keys = ApiKeyService(backends.api_keys, backends.workspaces, cache_seconds=0)
    team_a, team_b, minted, admin = [
        await keys.authenticate(secret) for secret in (TEAM_A, TEAM_B, MINTED, ADMIN)
    ]
    assert team_a is not None and team_b is not None and minted is not None
    assert admin is not None and admin.is_admin and admin.role is Role.OWNER

    page = await links.list(team_a.owner, 100, None)
    assert sorted(link.code for link in page.links) == ["alpha01", "alpha02"]
    assert [link.code for link in (await links.list(minted.owner, 100, None)).links] == [
        "alpha02",
        "alpha01",
    ]
    assert [link.code for link in (await links.list(team_b.owner, 100, None)).links] == ["bravo01"]
    with pytest.raises(NotFound):
        await links.get(team_b.owner, "alpha01")
    with pytest.raises(NotFound):
        await links.update(team_b.owner, "alpha01", {"is_active": False})
    with pytest.raises(NotFound):
        await links.get(admin.owner, "alpha01")  # an admin key never saw tenants' links
    # Keys minted before keep their lineage: revoking the minter revokes them.
    revoked = await keys.revoke(key_principal(admin), team_a.id)
    assert [key.id for key in revoked] == [team_a.id, minted.id]
    # New links land in the key's workspace; anonymous and managed rows are untouched.
    created = await links.create(team_b.owner, CreateLink("https://b.example/new"))
    assert created.owner == "team-b"
    conn = await asyncpg.connect(old_database)
    try:
        untouched = await conn.fetch(
            "SELECT code, owner, managed_by FROM links WHERE owner IS NULL ORDER BY code"
        )
    finally:
        await conn.close()
    assert [tuple(row) for row in untouched] == [
        ("anon001", None, None),
        ("gitops1", None, "team-a/promo"),
    ]
