"""Idempotency-Key: a create's rendered 201 stored with the create, replayed for 24 h."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shortlink.adapters.postgres import LinkRepository
from shortlink.domain.errors import IdempotencyKeyReused
from shortlink.domain.idempotency import KEY_TTL, StoredResponse
from shortlink.services.write_retry import WriteRetry

T = TypeVar("T")


class _KeyRaced(Exception):
    """Another request stored the same idempotency key first."""


async def once(
    repo: LinkRepository,
    retry: WriteRetry,
    owner: str,
    key: str,
    fingerprint: str,
    make: Callable[[LinkRepository], Awaitable[tuple[dict[str, Any] | None, T]]],
) -> tuple[StoredResponse | None, T | None]:
    """Run ``make`` (the create, in the transaction it is given) once per (owner,
    key) in 24 h. Its rendered 201 body is stored in that same transaction, so the
    link(s) and the key commit together or not at all, across retries and a
    failover. Returns (stored response, what make made): made None means a replay
    of an earlier response; response None means make stored nothing (a failure).
    Another body under the key: IdempotencyKeyReused. A duplicate racing the
    first blocks on the key's primary key until that one commits, rolls its own
    work back and replays (or, if the first rolled back, goes ahead itself)."""

    async def attempt() -> tuple[StoredResponse | None, T | None]:
        async with repo.transaction() as tx:
            earlier = await tx.stored_response(owner, key, KEY_TTL)
            if earlier is not None:
                return earlier, None
            body, made = await make(tx)
            if body is None:
                # A duplicate's alias insert waited for the first to commit: now its
                # key is visible (read committed), and this is a replay, not a 409.
                earlier = await tx.stored_response(owner, key, KEY_TTL)
                return (earlier, None) if earlier is not None else (None, made)
            response = StoredResponse(fingerprint, 201, body)
            if await tx.store_response(owner, key, response, KEY_TTL):
                return response, made
            raise _KeyRaced()  # the other request committed first: roll back, replay

    for _ in range(2):
        try:
            response, made = await retry(attempt, "create once")
            break
        except _KeyRaced:
            continue
    else:
        raise RuntimeError("idempotency key raced twice")
    if response is not None and response.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request in the last "
            f"{KEY_TTL.total_seconds() / 3600:.0f} h",
        )
    return response, made
