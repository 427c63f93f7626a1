"""Sign a browser in (with an API key, or as a person the OpenID provider vouched for),
resolve its session cookie to who is calling, sign it out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from shortlink.adapters.redis_failures import RedisFailure
from shortlink.adapters.redis_sessions import RecordStore
from shortlink.adapters.workspaces import WorkspaceRepository
from shortlink.domain.access import Principal, key_principal, person_principal, person_roles
from shortlink.domain.api_keys import ApiKey, hash_api_key
from shortlink.domain.errors import SessionsUnavailable, Unauthorized
from shortlink.domain.sessions import Session, new_token, seal, session_digest, unseal
from shortlink.domain.workspaces import Role
from shortlink.services.api_keys import ApiKeyService
from shortlink.services.clock import Clock, utc_now


@contextmanager
def store_reachable() -> Iterator[None]:
    """Redis not answering is a 503 SESSIONS_UNAVAILABLE (Retry-After), not a 500."""
    try:
        yield
    except RedisFailure:
        raise SessionsUnavailable() from None


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str  # the cookie's value; stored only as a digest
    session: Session
    principal: Principal
    key: ApiKey | None  # the API key it stands for; None: a person's session


class SessionService:
    def __init__(
        self, store: RecordStore, api_keys: ApiKeyService, workspaces: WorkspaceRepository,
        ttl_seconds: int, sealing_key: bytes, clock: Clock = utc_now,
    ) -> None:  # fmt: skip
        self._store = store
        self._sealing_key = sealing_key
        self._api_keys = api_keys
        self._workspaces = workspaces
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
        session = Session(digest.hex(), new_token(), self._expiry())
        return SignedIn(await self._store_new(session), session, key_principal(key), key)

    async def sign_in_person(self, subject: str, group_roles: Mapping[str, Role]) -> SignedIn:
        """A person the provider vouched for: NotAMember (403, nothing stored) if they
        may act in no workspace here. Groups mapped to a workspace that doesn't exist
        give nothing."""
        existing = {w.slug for w in await self._workspaces.find(list(group_roles))}
        granted = {slug: role for slug, role in group_roles.items() if slug in existing}
        principal = person_principal(subject, await self._roles(subject, granted), None)
        session = Session(None, new_token(), self._expiry(), subject, granted)
        return SignedIn(await self._store_new(session), session, principal, None)

    async def resolve(self, session_id: str, workspace: str | None = None) -> SignedIn | None:
        """Who the session acts as (a person: in ``workspace``, else their first), or
        None if it ended, expired, its key was revoked or its person is in no workspace
        any more, or if its record is not one this server sealed for this id (forged,
        copied from another session or edited in Redis). Forbidden if the person is
        not in ``workspace``."""
        with store_reachable():
            stored = await self._store.get(session_digest(session_id))
        record = unseal(stored, session_id, self._sealing_key)
        session = Session.from_record(record) if record is not None else None
        if session is None or session.expires_at <= self._clock().timestamp():
            return None
        if session.subject is not None:
            roles = await self._roles(session.subject, session.group_roles)
            if not roles:  # removed from every workspace: the session ends now
                await self.sign_out(session_id)
                return None
            return SignedIn(
                session_id, session, person_principal(session.subject, roles, workspace), None
            )
        try:
            digest = bytes.fromhex(session.key_hash or "")
        except ValueError:
            return None
        key = await self._api_keys.authenticate_digest(digest)
        return SignedIn(session_id, session, key_principal(key), key) if key else None

    async def sign_out(self, session_id: str) -> None:
        with store_reachable():
            await self._store.delete(session_digest(session_id))

    async def _roles(self, subject: str, group_roles: Mapping[str, Role]) -> dict[str, Role]:
        members = await self._workspaces.memberships(subject)
        return person_roles(((m.workspace, m.role) for m in members), group_roles)

    async def _store_new(self, session: Session) -> str:
        session_id = new_token()
        record = seal(session.record(), session_id, self._sealing_key)
        with store_reachable():
            await self._store.put(session_digest(session_id), record, self._ttl)
        return session_id

    def _expiry(self) -> float:
        return self._clock().timestamp() + self._ttl
