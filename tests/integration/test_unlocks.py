"""UnlockService against real PostgreSQL and Redis: seed flow 5 (password-protected links)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shortlink.domain.errors import (
    LinkExpired,
    NotFound,
    NotPasswordProtected,
    TooManyAttempts,
    WrongPassword,
)
from shortlink.domain.passwords import MAX_UNLOCK_ATTEMPTS, password_fingerprint
from shortlink.domain.unlock_tokens import unlock_token_valid
from shortlink.services.links import CreateLink, LinkService
from shortlink.services.unlocks import UnlockService
from shortlink.wiring import Backends
from tests.integration.conftest import SECRET


async def test_unlock_flow(links: LinkService, unlocks: UnlockService) -> None:
    link = await links.create(
        "alice", CreateLink("https://example.com/p", custom_alias="locked", password="hunter2")
    )
    assert link.password_hash is not None and link.password_hash.startswith("$2b$10$")

    with pytest.raises(WrongPassword) as wrong:
        await unlocks.unlock("locked", "guess", "10.0.0.1")
    assert wrong.value.details["attempts_remaining"] == MAX_UNLOCK_ATTEMPTS - 1

    unlocked = await unlocks.unlock("locked", "hunter2", "10.0.0.1")
    assert unlock_token_valid(
        unlocked.token,
        "locked",
        password_fingerprint(link.password_hash),
        SECRET,
        datetime.now(UTC),
    )


async def test_unlock_locks_out_after_too_many_failures(
    links: LinkService, unlocks: UnlockService
) -> None:
    await links.create(
        "alice", CreateLink("https://example.com/p", custom_alias="locked", password="hunter2")
    )
    remaining = []
    for _ in range(MAX_UNLOCK_ATTEMPTS):
        with pytest.raises(WrongPassword) as wrong:
            await unlocks.unlock("locked", "guess", "10.0.0.1")
        remaining.append(wrong.value.details["attempts_remaining"])

    assert remaining == list(range(MAX_UNLOCK_ATTEMPTS - 1, -1, -1))
    with pytest.raises(TooManyAttempts) as locked:
        await unlocks.unlock("locked", "hunter2", "10.0.0.1")  # even the right one
    assert locked.value.details["retry_after"] > 0
    # Another client is not locked out by this one's guesses.
    assert (await unlocks.unlock("locked", "hunter2", "10.0.0.2")).token


async def test_unlock_refusals(
    links: LinkService, unlocks: UnlockService, backends: Backends
) -> None:
    await links.create("alice", CreateLink("https://example.com/p", custom_alias="open-link"))
    with pytest.raises(NotPasswordProtected):
        await unlocks.unlock("open-link", "x", "ip")
    with pytest.raises(NotFound):
        await unlocks.unlock("missing", "x", "ip")
    await links.create(
        "alice", CreateLink("https://example.com/p", custom_alias="old-one", password="pw")
    )
    await backends.pool.execute(
        "UPDATE links SET expires_at = now() - interval '1 day' WHERE code = 'old-one'"
    )
    with pytest.raises(LinkExpired) as expired:
        await unlocks.unlock("old-one", "pw", "ip")
    assert expired.value.details["expired_at"].endswith("Z")
