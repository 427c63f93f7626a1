"""Unlock tokens: short-lived JWTs that let one client past one link's password."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

UNLOCK_TOKEN_TTL = timedelta(hours=1)
_ALGORITHM = "HS256"
_TYPE = "unlock"


def issue_unlock_token(
    code: str, fingerprint: str, secret: str, now: datetime, ttl: timedelta = UNLOCK_TOKEN_TTL
) -> str:
    claims = {"sub": code, "typ": _TYPE, "pwf": fingerprint, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def unlock_token_valid(token: str, code: str, fingerprint: str, secret: str, now: datetime) -> bool:
    """True only for an unexpired token issued for this code and its current password."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={
                "require": ["sub", "exp", "typ", "pwf"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError:
        return False
    # Time is judged by the injected clock only: the library would compare exp and
    # iat to this machine's wall clock, and pods' clocks drift apart.
    return (
        claims["typ"] == _TYPE
        and claims["sub"] == code
        and claims["pwf"] == fingerprint
        and float(claims["exp"]) > now.timestamp()
    )
