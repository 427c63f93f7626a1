"""OpenID Connect sign-in, the pure part: PKCE, state and nonce, and what a verified ID
token's claims must say."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What one sign-in keeps between the redirect to the provider and its callback:
    ``state`` ties the callback to this browser (used once), ``nonce`` the ID token to
    this attempt, ``verifier`` the code to this client (PKCE, S256)."""

    state: str
    nonce: str
    verifier: str

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)


def new_attempt() -> LoginAttempt:
    return LoginAttempt(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                        secrets.token_urlsafe(64))  # fmt: skip


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
