"""LinkSync against real PostgreSQL and Redis (no Kubernetes): idempotence, ownership,
password hashes, revival of a resource's own code."""

from __future__ import annotations

import pytest

from shortlink.adapters.local_cache import MISS
from shortlink.config import Settings
from shortlink.domain.errors import AliasTaken
from shortlink.operator.reconcile import Desired, ImmutableCode, desired_link
from shortlink.operator.resource import ObjectRef
from shortlink.operator.sync import Applied, Conflict, LinkSync, Password
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends

REF = ObjectRef("ns", "a", "uid-1")


def desired(settings: Settings, **spec: object) -> Desired:
    return desired_link({"target": "https://example.com/", **spec}, settings.url_policy)


async def test_apply_is_idempotent(backends: Backends, settings: Settings) -> None:
    sync = LinkSync(backends.links, backends.cache)
    first = await sync.apply(REF, desired(settings, code="idem"), None)
    assert isinstance(first, Applied) and first.change == "created"
    again = await sync.apply(REF, desired(settings, code="idem"), None)
    assert isinstance(again, Applied) and again.change == "unchanged"
    assert again.link.updated_at == first.link.updated_at
    changed = await sync.apply(REF, desired(settings, code="idem", redirectType=301), None)
    assert isinstance(changed, Applied) and changed.change == "updated"
    assert changed.link.redirect_type == 301
    cached = await backends.cache.get("idem")
    assert cached is not MISS and cached.redirect_type == 301  # type: ignore[union-attr]


async def test_generated_code_is_kept_across_applies(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache)
    first = await sync.apply(REF, desired(settings), None)
    second = await sync.apply(REF, desired(settings, target="https://example.com/2"), None)
    assert isinstance(first, Applied) and isinstance(second, Applied)
    assert second.link.code == first.link.code and second.change == "updated"
    with pytest.raises(ImmutableCode):
        await sync.apply(REF, desired(settings, code="other-code"), None)


async def test_api_links_and_other_resources_are_never_touched(
    backends: Backends, settings: Settings, links: LinkService
) -> None:
    sync = LinkSync(backends.links, backends.cache)
    api_link = await links.create("alice", CreateLink("https://api.example/", custom_alias="apis"))
    outcome = await sync.apply(REF, desired(settings, code="apis"), None)
    assert isinstance(outcome, Conflict) and "through the API" in outcome.message
    assert await backends.links.get("apis") == api_link

    await sync.apply(ObjectRef("other", "b", "uid-2"), desired(settings, code="theirs"), None)
    stolen = await sync.apply(REF, desired(settings, code="theirs"), None)
    assert isinstance(stolen, Conflict) and "ShortLink other/b" in stolen.message
    with pytest.raises(AliasTaken):
        await links.create("alice", CreateLink("https://x.example/", custom_alias="theirs"))


async def test_delete_then_recreate_revives_the_same_code(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache)
    created = await sync.apply(REF, desired(settings), None)
    assert isinstance(created, Applied)
    assert await sync.remove(REF) == [created.link.code]
    assert await backends.links.get(created.link.code) is None
    assert await sync.remove(REF) == []
    again = await sync.apply(ObjectRef("ns", "a", "uid-new"), desired(settings), None)
    assert isinstance(again, Applied) and again.link.code == created.link.code


async def test_password_hash_is_reused_while_the_password_is_unchanged(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache)
    spec = desired(settings, code="locked", passwordSecretRef={"name": "pw"})
    first = await sync.apply(REF, spec, Password("s3cret"))
    assert isinstance(first, Applied) and first.link.password_hash
    # Without memory (a restarted operator): bcrypt recognises the stored hash.
    second = await sync.apply(REF, spec, Password("s3cret"))
    assert isinstance(second, Applied) and second.change == "unchanged"
    # With memory: no bcrypt at all.
    known = Password("s3cret", first.password_digest, first.link.password_hash)
    third = await sync.apply(REF, spec, known)
    assert isinstance(third, Applied) and third.change == "unchanged"
    changed = await sync.apply(REF, spec, Password("new-secret", first.password_digest))
    assert isinstance(changed, Applied) and changed.change == "updated"
    assert changed.link.password_hash != first.link.password_hash
