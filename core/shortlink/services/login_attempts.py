"""OpenID sign-ins under way: each attempt's nonce and PKCE verifier, kept server-side
(sealed, under the state's digest) from the redirect to the provider until its callback,
which takes it once."""

from __future__ import annotations

import hashlib
import hmac

from shortlink.adapters.redis_sessions import RecordStore
from shortlink.domain.errors import InvalidLoginState
from shortlink.domain.oidc import LoginAttempt, new_attempt, state_digest
from shortlink.domain.sessions import seal, unseal
from shortlink.services.sessions import store_reachable


class LoginAttempts:
    def __init__(self, store: RecordStore, sealing_key: bytes, ttl_seconds: int) -> None:
        self._store = store
        # A key of its own: a sealed attempt is never a sealed session, nor the reverse.
        self._key = hmac.new(sealing_key, b"oidc login attempt v1", hashlib.sha256).digest()
        self.ttl_seconds = ttl_seconds

    async def begin(self) -> LoginAttempt:
        attempt = new_attempt()
        record = seal(attempt.record(), attempt.state, self._key)
        with store_reachable():
            await self._store.put(state_digest(attempt.state), record, self.ttl_seconds)
        return attempt

    async def take(self, state: str) -> LoginAttempt:
        """The attempt ``state`` names, now used up; InvalidLoginState (403) if there is
        none: never started, expired, or taken already (a replayed callback)."""
        with store_reachable():
            stored = await self._store.take(state_digest(state))
        record = unseal(stored, state, self._key)
        attempt = LoginAttempt.from_record(state, record) if record is not None else None
        if attempt is None:
            raise InvalidLoginState(
                "This sign-in expired or was used already; start it again", reason="unknown"
            )
        return attempt
