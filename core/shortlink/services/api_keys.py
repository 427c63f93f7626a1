"""API-key authentication and management."""

from __future__ import annotations

import time
from collections.abc import Sequence

from shortlink.adapters.postgres import ApiKeyRepository
from shortlink.adapters.workspaces import WorkspaceRepository
from shortlink.domain.access import Principal
from shortlink.domain.api_keys import (
    ApiKey,
    display_prefix,
    generate_api_key,
    hash_api_key,
)
from shortlink.domain.errors import Forbidden, InvalidRequest, NotFound
from shortlink.domain.text import require_storable
from shortlink.domain.workspaces import Role, validate_slug

INITIAL_KEY_OWNER = "admin"
MAX_KEY_ID = 2**63 - 1


class ApiKeyService:
    def __init__(
        self, repo: ApiKeyRepository, workspaces: WorkspaceRepository, cache_seconds: float = 5.0
    ) -> None:
        self._repo = repo
        self._workspaces = workspaces
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
        """Create SHORTLINK_INITIAL_API_KEY as an admin key if it doesn't exist yet:
        an instance administrator, owner of the workspace 'admin'."""
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
            role=Role.OWNER,
        )

    async def create(
        self,
        caller: Principal,
        name: str,
        owner: str | None,
        is_admin: bool,
        role: Role | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key of workspace ``owner`` (default: the caller's); returns the secret
        (shown once) and its record.

        A workspace admin mints keys of its own workspace with at most its own role
        (the default: the same role, i.e. a rotation). Only instance administrators
        mint keys of other workspaces (made if missing) or admin keys; one minting a
        key of no stated workspace must name it, since defaulting to its own would hand
        the new key its links. The key records its minter (``created_by``), so
        revoking a leaked key revokes what it minted.
        """
        require_storable(name, "name")
        if caller.instance_admin and not is_admin and not owner:
            raise InvalidRequest(
                "owner is required when an admin key mints a non-admin key "
                "(the new key gets that workspace's links)"
            )
        workspace = require_storable(owner, "owner") if owner else caller.workspace
        if (workspace != caller.workspace or is_admin) and not caller.instance_admin:
            raise Forbidden("Only admin keys can create keys for other workspaces or admin keys")
        if workspace != caller.workspace and await self._workspaces.get(workspace) is None:
            validate_slug(workspace)  # made for this key: a new workspace's slug
        granted = role or (
            Role.OWNER if is_admin else Role.ADMIN if workspace != caller.workspace
            else caller.effective_role
        )  # fmt: skip
        if granted > caller.effective_role:
            raise Forbidden(
                f"A key can't be given more than your own role ({caller.effective_role.label})",
                required=granted.label,
            )
        secret = generate_api_key()
        record = await self._repo.create(
            hash_api_key(secret),
            display_prefix(secret),
            name,
            workspace,
            is_admin,
            created_by=caller.key_id,
            role=granted,
        )
        assert record is not None  # a fresh 256-bit key cannot collide
        return secret, record

    async def list(self, caller: Principal) -> list[ApiKey]:
        return await self._repo.list(None if caller.instance_admin else caller.workspace)

    async def revoke(self, caller: Principal, key_id: int) -> Sequence[ApiKey]:
        """The key and every key it minted, transitively (the key first). Workspace
        admins revoke only their workspace's keys of at most their own role, never an
        instance administrator's."""
        # Ids are bigint: one past its range can't exist (and can't be a query parameter).
        fits = 0 < key_id <= MAX_KEY_ID
        workspace = None if caller.instance_admin else caller.workspace
        revoked = await self._repo.revoke(key_id, workspace, caller.effective_role) if fits else []
        if not revoked:  # a key beyond the caller's reach looks missing
            raise NotFound(f"No API key with id {key_id}")
        self._cache.clear()  # this pod forgets at once; others within cache_seconds
        return revoked
