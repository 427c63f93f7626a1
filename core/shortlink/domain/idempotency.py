"""Idempotency-Key rules: the key's syntax and the request fingerprint (pure)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shortlink.domain.errors import InvalidRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# A key is remembered this long; an older row is ignored and replaced.
KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def validate_key(value: str) -> str:
    """1 to 255 printable ASCII characters (space to tilde), else InvalidRequest."""
    if not 1 <= len(value) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in value):
        raise InvalidRequest(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return value


def fingerprint(body: Any) -> str:
    """SHA-256 of the body's canonical JSON: same fields and values, same print,
    whatever the key order or spacing the client sent."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What the first request with a key was answered, replayed to its retries."""

    fingerprint: str
    status: int
    body: dict[str, Any]
