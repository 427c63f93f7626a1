"""API-key authentication and management."""

from __future__ import annotations

import time
from collections.abc import Sequence

from shortlink.adapters.postgres import ApiKeyRepository
from shortlink.domain.api_keys import (
    ApiKey,
    display_prefix,
    generate_api_key,
    hash_api_key,
)
from shortlink.domain.errors import Forbidden, InvalidRequest, NotFound
from shortlink.domain.text import require_storable

INITIAL_KEY_OWNER = "admin"
MAX_KEY_ID = 2**63 - 1


class ApiKeyService:
    def __init__(self, repo: ApiKeyRepository, cache_seconds: float = 5.0) -> None:
        self._repo = repo
        # Recently seen keys, so authenticated requests skip a DB round trip;
        # a revocation therefore takes effect within ``cache_seconds``.
        self._cache: dict[bytes, tuple[ApiKey | None, float]] = {}
        self._cache_seconds = cache_seconds

    async def authenticate(self, presented: str) -> ApiKey | None:
        return await self.authenticate_digest(hash_api_key(presented))

    async def authenticate_digest(self, digest: bytes) -> ApiKey | None:
        """The active key with this SHA-256 digest (what a browser session holds)."""
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        key = await self._repo.find_active(digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (key, now + self._cache_seconds)
        return key

    async def bootstrap(self, initial_key: str | None) -> ApiKey | None:
        """Create SHORTLINK_INITIAL_API_KEY as an admin key if it doesn't exist yet."""
        if not initial_key:
            return None
        if len(initial_key) < 16:
            raise InvalidRequest("SHORTLINK_INITIAL_API_KEY must be at least 16 characters")
        return await self._repo.create(
            hash_api_key(initial_key),
            display_prefix(initial_key),
            "initial",
            INITIAL_KEY_OWNER,
            is_admin=True,
        )

    async def create(
        self, caller: ApiKey, name: str, owner: str | None, is_admin: bool
    ) -> tuple[str, ApiKey]:
        """A new key; returns the secret (shown once) and its record.

        Anyone may mint another key for their own owner (rotation); only admins
        may mint keys for other owners or admin keys. An admin minting a non-admin
        key must name its owner: defaulting to the admin's own would hand the new
        key the admin's links. The key records its minter (``created_by``), so
        revoking a leaked key revokes what it minted.
        """
        require_storable(name, "name")
        if caller.is_admin and not is_admin and not owner:
            raise InvalidRequest(
                "owner is required when an admin key mints a non-admin key "
                "(the new key gets that owner's links)"
            )
        target_owner = require_storable(owner, "owner") if owner else caller.owner
        if (target_owner != caller.owner or is_admin) and not caller.is_admin:
            raise Forbidden("Only admin keys can create keys for other owners or admin keys")
        secret = generate_api_key()
        record = await self._repo.create(
            hash_api_key(secret),
            display_prefix(secret),
            name,
            target_owner,
            is_admin,
            created_by=caller.id,
        )
        assert record is not None  # a fresh 256-bit key cannot collide
        return secret, record

    async def list(self, caller: ApiKey) -> list[ApiKey]:
        return await self._repo.list(None if caller.is_admin else caller.owner)

    async def revoke(self, caller: ApiKey, key_id: int) -> Sequence[ApiKey]:
        """The key and every key it minted, transitively (the key first). Non-admin
        callers revoke only their owner's non-admin keys."""
        # Ids are bigint: one past its range can't exist (and can't be a query parameter).
        fits = 0 < key_id <= MAX_KEY_ID
        owner = None if caller.is_admin else caller.owner
        revoked = await self._repo.revoke(key_id, owner) if fits else []
        if not revoked:  # an admin key looks missing to a non-admin caller
            raise NotFound(f"No API key with id {key_id}")
        self._cache.clear()  # this pod forgets at once; others within cache_seconds
        return revoked
