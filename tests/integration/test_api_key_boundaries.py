"""Issue 13, finding 8: what one API key can do to others, on real PostgreSQL."""

from __future__ import annotations

import pytest

from shortlink.domain.access import key_principal as acting
from shortlink.domain.api_keys import ApiKey
from shortlink.domain.errors import InvalidRequest, NotFound
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends

INITIAL = "initial-admin-key-0123456789"


@pytest.fixture
async def keys(backends: Backends) -> ApiKeyService:
    # No authentication cache: a revocation must show at once in these tests.
    return ApiKeyService(backends.api_keys, backends.workspaces, cache_seconds=0)


async def _admin(keys: ApiKeyService) -> ApiKey:
    await keys.bootstrap(INITIAL)
    admin = await keys.authenticate(INITIAL)
    assert admin is not None and admin.is_admin
    return admin


async def test_an_admin_minting_a_plain_key_must_name_its_owner(keys: ApiKeyService) -> None:
    admin = await _admin(keys)
    with pytest.raises(InvalidRequest, match="owner is required"):
        await keys.create(acting(admin), "ci", None, False)
    _, rotated = await keys.create(acting(admin), "second admin", None, True)  # rotation: fine
    assert (rotated.owner, rotated.is_admin) == (admin.owner, True)


async def test_a_plain_key_never_revokes_an_admin_key_even_of_its_owner(
    keys: ApiKeyService, links: LinkService
) -> None:
    admin = await _admin(keys)
    secret, plain = await keys.create(acting(admin), "limited", admin.owner, False)
    caller = await keys.authenticate(secret)
    assert caller is not None and not caller.is_admin
    with pytest.raises(NotFound):
        await keys.revoke(acting(caller), admin.id)
    assert await keys.authenticate(INITIAL) == admin  # still active
    [own] = await keys.revoke(acting(caller), plain.id)  # its own: fine
    assert own.revoked_at is not None


async def test_revoking_a_leaked_key_revokes_every_key_it_minted(keys: ApiKeyService) -> None:
    admin = await _admin(keys)
    leaked_secret, leaked = await keys.create(acting(admin), "leaked", "team-a", False)
    leaked_key = await keys.authenticate(leaked_secret)
    assert leaked_key is not None
    child_secret, child = await keys.create(acting(leaked_key), "made by the thief", None, False)
    child_key = await keys.authenticate(child_secret)
    assert child_key is not None and child.created_by == leaked.id
    grandchild_secret, grandchild = await keys.create(acting(child_key), "and again", None, False)
    bystander_secret, _ = await keys.create(
        acting(admin), "same team, minted by admin", "team-a", False
    )

    revoked = await keys.revoke(acting(admin), leaked.id)

    assert [key.id for key in revoked] == [leaked.id, child.id, grandchild.id]
    for secret in (leaked_secret, child_secret, grandchild_secret):
        assert await keys.authenticate(secret) is None
    assert await keys.authenticate(bystander_secret) is not None
    assert await keys.authenticate(INITIAL) is not None


async def test_a_plain_key_edits_only_its_owners_links(
    keys: ApiKeyService, links: LinkService
) -> None:
    admin = await _admin(keys)
    admins_link = await links.create(admin.owner, CreateLink("https://example.com/admin"))
    secret, _ = await keys.create(acting(admin), "team", "team-a", False)
    team = await keys.authenticate(secret)
    assert team is not None
    with pytest.raises(NotFound):
        await links.update(team.owner, admins_link.code, {"is_active": False})
