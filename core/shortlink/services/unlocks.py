"""Unlocking a password-protected link: the password traded for unlock tokens,
wrong guesses limited per client and per link."""

from __future__ import annotations

from dataclasses import dataclass

from shortlink.adapters.postgres import LinkRepository
from shortlink.adapters.redis_counters import WindowCounter
from shortlink.domain import passwords
from shortlink.domain.aliases import could_be_code
from shortlink.domain.errors import (
    LinkExpired,
    NotFound,
    NotPasswordProtected,
    TooManyAttempts,
    WrongPassword,
)
from shortlink.domain.expiry import format_instant, is_expired
from shortlink.domain.links import Link
from shortlink.domain.unlock_tokens import LINK, issue_unlock_token
from shortlink.services.clock import Clock, utc_now
from shortlink.services.password_hashing import HASHER


@dataclass(frozen=True)
class Unlocked:
    token: str  # the 1-hour session token, for the per-link cookie
    link_token: str  # the 60-second one, for a URL
    link: Link


class UnlockService:
    def __init__(
        self,
        repo: LinkRepository,
        failures: WindowCounter,
        secret_key: str,
        clock: Clock = utc_now,
    ) -> None:
        self._repo = repo
        self._unlock_failures = failures
        self._secret_key = secret_key
        self._clock = clock

    async def unlock(self, code: str, password: str, client: str) -> Unlocked:
        """Trade a link's password for an unlock token (seed flow 5).

        Failures are counted per (code, client) before the password is checked,
        so parallel guesses can't slip past the limit.
        """
        link = await self._repo.get(code) if could_be_code(code) else None
        if link is None or not link.is_active:
            raise NotFound(f"No link with code '{code}'")
        now = self._clock()
        if is_expired(link.expires_at, now):
            assert link.expires_at is not None
            raise LinkExpired(
                f"This link expired on {link.expires_at.date().isoformat()}",
                expired_at=format_instant(link.expires_at),
            )
        if link.password_hash is None:
            raise NotPasswordProtected(f"The link '{code}' has no password")
        attempt_key = f"{code}:{passwords.unlock_client(client)}"
        code_key = f"{code}:*"  # every client together
        attempts, window_left_ms = await self._unlock_failures.hit(
            attempt_key, passwords.UNLOCK_LOCKOUT_SECONDS
        )
        code_attempts, code_left_ms = await self._unlock_failures.hit(
            code_key, passwords.CODE_UNLOCK_WINDOW_SECONDS
        )
        if attempts > passwords.MAX_UNLOCK_ATTEMPTS:
            raise TooManyAttempts(
                "Too many wrong passwords; try again later",
                retry_after=max(1, -(-window_left_ms // 1000)),
            )
        if code_attempts > passwords.MAX_CODE_UNLOCK_FAILURES:
            raise TooManyAttempts(
                "Too many wrong passwords for this link; try again later",
                retry_after=max(1, -(-code_left_ms // 1000)),
            )
        if not await HASHER.check(password, link.password_hash):
            raise WrongPassword(
                "The password is incorrect",
                attempts_remaining=passwords.attempts_remaining(attempts),
            )
        await self._unlock_failures.clear(attempt_key)
        # A right password is no failure: popular links don't lock themselves out.
        await self._unlock_failures.hit(code_key, passwords.CODE_UNLOCK_WINDOW_SECONDS, -1)
        fingerprint = passwords.password_fingerprint(link.password_hash)
        return Unlocked(
            issue_unlock_token(code, fingerprint, self._secret_key, now),
            issue_unlock_token(code, fingerprint, self._secret_key, now, kind=LINK),
            link,
        )
