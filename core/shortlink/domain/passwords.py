"""Link passwords (seed flow 5): bcrypt hashes and the unlock-attempt policy.

bcrypt is CPU-bound (~50 ms at cost 10): callers on an event loop run these in
a thread so one unlock never stalls other requests.
"""

from __future__ import annotations

import base64
import hashlib

import bcrypt

from shortlink.domain.errors import InvalidPassword
from shortlink.domain.rate_limits import client_network
from shortlink.domain.text import is_storable

BCRYPT_ROUNDS = 10  # the seed's "$2b$10$"
MAX_PASSWORD_CHARS = 72
BCRYPT_MAX_BYTES = 72  # bcrypt ignores (5.x: rejects) anything longer

MAX_UNLOCK_ATTEMPTS = 5
UNLOCK_LOCKOUT_SECONDS = 15 * 60
# Every client together, per link: caps guessing from a pool of addresses at 50
# per 5 minutes (14,400 a day), while an attacker can hold everyone off a link for
# at most the rest of one 5-minute window per 50 guesses spent. A lower ceiling
# would slow guessing more and make that lockout cheaper; a longer window likewise.
MAX_CODE_UNLOCK_FAILURES = 50
CODE_UNLOCK_WINDOW_SECONDS = 5 * 60


def validate_password(password: object) -> str:
    if not isinstance(password, str) or not password:
        raise InvalidPassword("password must be a non-empty string")
    if not is_storable(password):  # bcrypt refuses NUL too
        raise InvalidPassword("password must not contain NUL characters or unpaired surrogates")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidPassword(f"password must be at most {MAX_PASSWORD_CHARS} characters")
    return password


def _bcrypt_input(password: str) -> bytes:
    """What bcrypt hashes: the password itself when it fits bcrypt's 72 bytes (as
    every password set before this rule), else its SHA-256 (so 72 characters of any
    script fit; knowing that digest means knowing the password)."""
    encoded = password.encode()
    if len(encoded) <= BCRYPT_MAX_BYTES:
        return encoded
    return base64.b64encode(hashlib.sha256(encoded).digest())


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(rounds)).decode()


def check_password(password: str, password_hash: str) -> bool:
    if not is_storable(password) or len(password) > MAX_PASSWORD_CHARS:
        return False  # no password that could be set looks like this
    return bcrypt.checkpw(_bcrypt_input(password), password_hash.encode())


def password_fingerprint(password_hash: str) -> str:
    """A short, non-reversible tag of the current hash: unlock tokens carry it, so
    changing a link's password invalidates every token issued for the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def attempts_remaining(failures: int) -> int:
    return max(0, MAX_UNLOCK_ATTEMPTS - failures)


def unlock_client(address: str) -> str:
    """Whom per-client unlock failures are counted against: as every limit counts
    a client (rate_limits.client_network)."""
    return client_network(address)
