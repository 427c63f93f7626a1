"""Short-code generation: 7 base62 characters from a CSPRNG.

62**7 ≈ 3.5e12 codes; uniqueness is enforced by the database's unique index and
collisions are retried by the caller, so no SELECT-then-INSERT race exists.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Collection

ALPHABET = string.digits + string.ascii_letters
CODE_LENGTH = 7


def generate_code(length: int = CODE_LENGTH) -> str:
    choice = secrets.choice
    return "".join(choice(ALPHABET) for _ in range(length))


def generate_codes(
    count: int, exclude: Collection[str] = (), length: int = CODE_LENGTH
) -> list[str]:
    """``count`` distinct codes, none in ``exclude`` (not yet checked against storage)."""
    codes: set[str] = set()
    while len(codes) < count:
        code = generate_code(length)
        if code not in exclude:
            codes.add(code)
    return list(codes)
