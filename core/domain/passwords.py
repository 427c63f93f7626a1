"""Link passwords (seed flow 5): bcrypt hashes and the unlock-attempt policy.

bcrypt is CPU-bound (~50 ms at cost 10): callers on an event loop run these in
a thread so one unlock never stalls other requests.
"""

from __future__ import annotations

import hashlib

import bcrypt

from shortlink.domain.errors import InvalidPassword
from shortlink.domain.text import is_storable

BCRYPT_ROUNDS = 10  # the seed's "$2b$10$"
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (5.x: rejects) anything longer

MAX_UNLOCK_ATTEMPTS = 5
UNLOCK_LOCKOUT_SECONDS = 15 * 60


def validate_password(password: object) -> str:
    if not isinstance(password, str) or not password:
        raise InvalidPassword("password must be a non-empty string")
    if not is_storable(password):  # bcrypt refuses NUL too
        raise InvalidPassword("password must not contain NUL characters or unpaired surrogates")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise InvalidPassword(f"password must be at most {MAX_PASSWORD_BYTES} bytes")
    return password


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str) -> bool:
    if not is_storable(password):
        return False  # no password that could be set contains one
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(encoded, password_hash.encode())


def password_fingerprint(password_hash: str) -> str:
    """A short, non-reversible tag of the current hash: unlock tokens carry it, so
    changing a link's password invalidates every token issued for the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def attempts_remaining(failures: int) -> int:
    return max(0, MAX_UNLOCK_ATTEMPTS - failures)
