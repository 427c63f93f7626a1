"""API keys: high-entropy bearer secrets, stored only as SHA-256 digests.

A slow hash (bcrypt) buys nothing for 256-bit random keys and would cost
~50 ms on every authenticated request; a digest lookup is O(1).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from shortlink.domain.workspaces import Role

KEY_PREFIX = "sl_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def display_prefix(key: str) -> str:
    """Enough of the key to recognise it in a listing, too little to use it."""
    return key[: len(KEY_PREFIX) + 6]


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key's public record. ``owner`` is the slug of the workspace it belongs to
    (links belong to it too, so a rotated key keeps them); ``role`` is what it may do
    there; ``is_admin``: an instance administrator's key."""

    id: int
    prefix: str
    name: str
    owner: str
    is_admin: bool
    created_at: datetime
    revoked_at: datetime | None
    created_by: int | None = None  # the key that minted this one
    role: Role = Role.ADMIN
