"""Issue 13, finding 4: unlock guessing can't be spread over an IPv6 /64 or an
address pool without bound, on real PostgreSQL and Redis."""

from __future__ import annotations

import pytest

from shortlink.domain.errors import TooManyAttempts, WrongPassword
from shortlink.domain.passwords import MAX_CODE_UNLOCK_FAILURES, MAX_UNLOCK_ATTEMPTS
from shortlink.services.links import CreateLink, LinkService
from shortlink.services.unlocks import UnlockService


async def _guess(unlocks: UnlockService, code: str, client: str, password: str = "wrong") -> str:
    try:
        await unlocks.unlock(code, password, client)
    except WrongPassword:
        return "wrong"
    except TooManyAttempts:
        return "429"
    return "ok"


async def test_rotating_addresses_within_a_64_is_one_client(
    links: LinkService, unlocks: UnlockService
) -> None:
    code = (await links.create("alice", CreateLink("https://e.com/", password="pw"))).code
    outcomes = [
        await _guess(unlocks, code, f"2001:db8:7:7::{n:x}") for n in range(MAX_UNLOCK_ATTEMPTS + 1)
    ]
    assert outcomes == ["wrong"] * MAX_UNLOCK_ATTEMPTS + ["429"]
    assert await _guess(unlocks, code, "2001:db8:7:8::1", "pw") == "ok"  # the next /64: fine


async def test_a_pool_of_addresses_meets_a_ceiling_per_link(
    links: LinkService, unlocks: UnlockService
) -> None:
    code = (await links.create("alice", CreateLink("https://e.com/", password="pw"))).code
    other = (await links.create("alice", CreateLink("https://e.com/", password="pw"))).code
    for n in range(MAX_CODE_UNLOCK_FAILURES):
        assert await _guess(unlocks, code, f"198.51.100.{n}") == "wrong"
    assert await _guess(unlocks, code, "203.0.113.1") == "429"  # a fresh address, same link
    assert await _guess(unlocks, code, "203.0.113.2", "pw") == "429"  # everyone, for a while
    assert await _guess(unlocks, other, "203.0.113.1", "pw") == "ok"  # other links unaffected


async def test_right_passwords_do_not_use_up_the_links_ceiling(
    links: LinkService, unlocks: UnlockService
) -> None:
    code = (await links.create("alice", CreateLink("https://e.com/", password="pw"))).code
    for n in range(MAX_CODE_UNLOCK_FAILURES + 5):
        assert await _guess(unlocks, code, f"10.1.{n // 250}.{n % 250}", "pw") == "ok"


@pytest.mark.parametrize("client", ["203.0.113.9", "::ffff:203.0.113.9"])
async def test_ipv4_and_its_mapped_form_are_one_client(
    links: LinkService, unlocks: UnlockService, client: str
) -> None:
    code = (await links.create("alice", CreateLink("https://e.com/", password="pw"))).code
    for _ in range(MAX_UNLOCK_ATTEMPTS):
        await _guess(unlocks, code, "203.0.113.9")
    assert await _guess(unlocks, code, client) == "429"
