"""LinkSync against real PostgreSQL and Redis (no Kubernetes): idempotence, ownership,
password hashes, revival of a resource's own code."""

from __future__ import annotations

import pytest

from shortlink.config import Settings
from shortlink.domain.errors import AliasTaken
from shortlink.domain.links import MISS
from shortlink.operator.links.reconcile import Desired, ImmutableCode, desired_link
from shortlink.operator.links.sync import Applied, Conflict, LinkSync, Password
from shortlink.operator.resource import ObjectRef
from shortlink.services.links import CreateLink, LinkService
from shortlink.wiring import Backends

REF = ObjectRef("ns", "a", "uid-1")
NS = "ns-uid-1"  # the namespace "ns" as it is now


def desired(settings: Settings, **spec: object) -> Desired:
    return desired_link({"target": "https://example.com/", **spec}, settings.url_policy)


async def test_apply_is_idempotent(backends: Backends, settings: Settings) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    first = await sync.apply(REF, NS, desired(settings, code="idem"), None)
    assert isinstance(first, Applied) and first.change == "created"
    again = await sync.apply(REF, NS, desired(settings, code="idem"), None)
    assert isinstance(again, Applied) and again.change == "unchanged"
    assert again.link.updated_at == first.link.updated_at
    changed = await sync.apply(REF, NS, desired(settings, code="idem", redirectType=301), None)
    assert isinstance(changed, Applied) and changed.change == "updated"
    assert changed.link.redirect_type == 301
    cached = await backends.cache.get("idem")
    assert cached is not MISS and cached.redirect_type == 301  # type: ignore[union-attr]


async def test_generated_code_is_kept_across_applies(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    first = await sync.apply(REF, NS, desired(settings), None)
    second = await sync.apply(REF, NS, desired(settings, target="https://example.com/2"), None)
    assert isinstance(first, Applied) and isinstance(second, Applied)
    assert second.link.code == first.link.code and second.change == "updated"
    with pytest.raises(ImmutableCode):
        await sync.apply(REF, NS, desired(settings, code="other-code"), None)


async def test_api_links_and_other_resources_are_never_touched(
    backends: Backends, settings: Settings, links: LinkService
) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    api_link = await links.create("alice", CreateLink("https://api.example/", custom_alias="apis"))
    outcome = await sync.apply(REF, NS, desired(settings, code="apis"), None)
    assert isinstance(outcome, Conflict) and "through the API" in outcome.message
    assert await backends.links.get("apis") == api_link

    await sync.apply(
        ObjectRef("other", "b", "uid-2"), "other-uid", desired(settings, code="theirs"), None
    )
    stolen = await sync.apply(REF, NS, desired(settings, code="theirs"), None)
    assert isinstance(stolen, Conflict) and "another ShortLink" in stolen.message
    assert "other/b" not in stolen.message  # never whose (issue 13, finding 9)
    with pytest.raises(AliasTaken):
        await links.create("alice", CreateLink("https://x.example/", custom_alias="theirs"))


async def test_delete_then_recreate_revives_the_same_code(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    created = await sync.apply(REF, NS, desired(settings), None)
    assert isinstance(created, Applied)
    assert await sync.remove(REF, NS) == [created.link.code]
    assert await backends.links.get(created.link.code) is None
    assert await sync.remove(REF, NS) == []
    again = await sync.apply(ObjectRef("ns", "a", "uid-new"), NS, desired(settings), None)
    assert isinstance(again, Applied) and again.link.code == created.link.code


async def test_password_hash_is_reused_while_the_password_is_unchanged(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    spec = desired(settings, code="locked", passwordSecretRef={"name": "pw"})
    first = await sync.apply(REF, NS, spec, Password("s3cret"))
    assert isinstance(first, Applied) and first.link.password_hash
    # Without memory (a restarted operator): bcrypt recognises the stored hash.
    second = await sync.apply(REF, NS, spec, Password("s3cret"))
    assert isinstance(second, Applied) and second.change == "unchanged"
    # With memory: no bcrypt at all.
    known = Password("s3cret", first.password_digest, first.link.password_hash)
    third = await sync.apply(REF, NS, spec, known)
    assert isinstance(third, Applied) and third.change == "unchanged"
    changed = await sync.apply(REF, NS, spec, Password("new-secret", first.password_digest))
    assert isinstance(changed, Applied) and changed.change == "updated"
    assert changed.link.password_hash != first.link.password_hash


EARLIER = "ns-uid-0"  # an earlier namespace called "ns", deleted (and re-created) since


async def test_a_namespace_of_the_same_name_never_inherits_codes(
    backends: Backends, settings: Settings
) -> None:
    """Issue 13, finding 9: "ns/a" alone would hand a re-created namespace "ns" (anyone
    allowed to create namespaces) every code its predecessor's ShortLinks held."""
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    generated_ref = ObjectRef("ns", "g", "uid-g")
    kept = await sync.apply(REF, EARLIER, desired(settings, code="kept"), None)
    old_generated = await sync.apply(generated_ref, EARLIER, desired(settings), None)
    assert isinstance(kept, Applied) and isinstance(old_generated, Applied)
    assert await sync.remove(REF, EARLIER) == ["kept"]
    assert await sync.remove(generated_ref, EARLIER) == [old_generated.link.code]
    before = await backends.links.find_row("kept")

    taken = await sync.apply(
        REF, NS, desired(settings, code="kept", target="https://x.example/"), None
    )
    assert isinstance(taken, Conflict) and "another ShortLink" in taken.message
    assert "ns/a" not in taken.message and EARLIER not in taken.message
    assert await backends.links.find_row("kept") == before  # untouched: deleted, bound
    assert before is not None and before.deleted and before.namespace_uid == EARLIER
    assert await backends.links.get("kept") is None

    # Without spec.code it is not a conflict: a fresh code, the old one stays reserved.
    fresh = await sync.apply(generated_ref, NS, desired(settings), None)
    assert isinstance(fresh, Applied) and fresh.link.code != old_generated.link.code
    old_row = await backends.links.find_row(old_generated.link.code)
    assert old_row is not None and old_row.deleted and old_row.namespace_uid == EARLIER

    # A live row left by the earlier namespace (a finalizer removed by hand) is neither
    # deleted by its namesake's delete nor its password hash reused.
    live_ref = ObjectRef("ns", "live", "uid-l")
    spec = desired(settings, code="live", passwordSecretRef={"name": "pw"})
    left = await sync.apply(live_ref, EARLIER, spec, Password("s3cret"))
    assert isinstance(left, Applied)
    assert await sync.remove(live_ref, NS) == []
    assert await backends.links.get("live") == left.link
    assert isinstance(await sync.apply(live_ref, NS, spec, Password("s3cret")), Conflict)


async def test_rows_from_before_namespace_uids_are_adopted_once(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    # Two rows of "ns/a": a ShortLink deleted, then re-created with another code.
    for code in ("older", "legacy"):
        assert isinstance(await sync.apply(REF, NS, desired(settings, code=code), None), Applied)
        assert await sync.remove(REF, NS) == [code]
    # As migration 0006 leaves rows written before it.
    await backends.pool.execute("UPDATE links SET managed_namespace_uid = NULL")

    # The first live ShortLink of that namespace/name adopts all its rows...
    again = await sync.apply(REF, NS, desired(settings), None)
    assert isinstance(again, Applied) and again.change == "updated"  # undeleted
    assert again.link.code == "legacy"  # its latest, as before
    for code in ("legacy", "older"):
        row = await backends.links.find_row(code)
        assert row is not None and row.namespace_uid == NS, code
    # ...so a later namesake namespace adopts nothing.
    for code in ("legacy", "older"):
        taken = await sync.apply(
            ObjectRef("ns", "a", "uid-x"), EARLIER, desired(settings, code=code), None
        )
        assert isinstance(taken, Conflict), code


async def test_an_unchanged_row_without_namespace_uid_is_bound_by_a_resync(
    backends: Backends, settings: Settings
) -> None:
    sync = LinkSync(backends.links, backends.cache, backends.workspaces)
    first = await sync.apply(REF, NS, desired(settings, code="bound"), None)
    assert isinstance(first, Applied)
    await backends.pool.execute("UPDATE links SET managed_namespace_uid = NULL")
    resync = await sync.apply(REF, NS, desired(settings, code="bound"), None)
    assert isinstance(resync, Applied) and resync.link.code == "bound"
    row = await backends.links.find_row("bound")
    assert row is not None and row.namespace_uid == NS and not row.deleted
