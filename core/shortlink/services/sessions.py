"""Sign a browser in with an API key, resolve its session cookie, sign it out."""

from __future__ import annotations

from dataclasses import dataclass

from shortlink.adapters.redis_sessions import SessionStore
from shortlink.domain.api_keys import ApiKey, hash_api_key
from shortlink.domain.errors import Unauthorized
from shortlink.domain.sessions import Session, new_token, seal, session_digest, unseal
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.clock import Clock, utc_now


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str  # the cookie's value; stored only as a digest
    session: Session
    key: ApiKey


class SessionService:
    def __init__(
        self, store: SessionStore, api_keys: ApiKeyService, ttl_seconds: int,
        sealing_key: bytes, clock: Clock = utc_now,
    ) -> None:  # fmt: skip
        self._store = store
        self._sealing_key = sealing_key
        self._api_keys = api_keys
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    async def sign_in(self, api_key: str) -> SignedIn:
        digest = hash_api_key(api_key)
        key = await self._api_keys.authenticate_digest(digest)
        if key is None:
            raise Unauthorized("The API key is invalid or revoked")
        session_id = new_token()
        session = Session(digest.hex(), new_token(), self._clock().timestamp() + self._ttl)
        record = seal(session.record(), session_id, self._sealing_key)
        await self._store.put(session_digest(session_id), record, self._ttl)
        return SignedIn(session_id, session, key)

    async def resolve(self, session_id: str) -> tuple[Session, ApiKey] | None:
        """The session and its key, or None if it ended, expired or its key was revoked,
        or if its record is not one this server sealed for this id (forged, copied from
        another session or edited in Redis)."""
        record = unseal(
            await self._store.get(session_digest(session_id)), session_id, self._sealing_key
        )
        session = Session.from_record(record) if record is not None else None
        if session is None or session.expires_at <= self._clock().timestamp():
            return None
        try:
            digest = bytes.fromhex(session.key_hash)
        except ValueError:
            return None
        key = await self._api_keys.authenticate_digest(digest)
        return (session, key) if key is not None else None

    async def sign_out(self, session_id: str) -> None:
        await self._store.delete(session_digest(session_id))
