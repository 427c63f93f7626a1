"""Unlock tokens: short-lived JWTs that let one client past one link's password.

Two kinds. A *session* token (1 hour) travels in the per-link cookie, never in a
URL. A *link* token (60 s) is what goes into a URL (``?unlock_token=``, the API's
``redirect_url``), where logs, browser history and shared links can keep it: it
is good only briefly, and the redirector trades it at once for the cookie and a
redirect to the same URL without it. Neither kind is accepted in the other's place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

import jwt

UNLOCK_TOKEN_TTL = timedelta(hours=1)
LINK_TOKEN_TTL = timedelta(seconds=60)
_ALGORITHM = "HS256"
SESSION: Final = "unlock"
LINK: Final = "unlock-link"
TokenKind = Literal["unlock", "unlock-link"]
_TTL = {SESSION: UNLOCK_TOKEN_TTL, LINK: LINK_TOKEN_TTL}


def issue_unlock_token(
    code: str, fingerprint: str, secret: str, now: datetime, kind: TokenKind = SESSION
) -> str:
    claims = {"sub": code, "typ": kind, "pwf": fingerprint, "iat": now, "exp": now + _TTL[kind]}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def unlock_token_valid(
    token: str, code: str, fingerprint: str, secret: str, now: datetime, kind: TokenKind = SESSION
) -> bool:
    """True only for an unexpired token of ``kind`` issued for this code and its
    current password."""
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
        claims["typ"] == kind
        and claims["sub"] == code
        and claims["pwf"] == fingerprint
        and float(claims["exp"]) > now.timestamp()
    )
