"""Custom aliases (seed flow 6): format, length, reserved words, and suggestions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date

from shortlink.domain.codes import ALPHABET
from shortlink.domain.errors import InvalidAlias

ALIAS_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
MIN_LENGTH = 3
MAX_LENGTH = 20

# Paths the redirector or an ingress in front of it may route elsewhere.
RESERVED = frozenset(
    {
        "api", "admin", "v1", "v2", "healthz", "readyz", "livez", "metrics", "static",
        "assets", "favicon.ico", "robots.txt", "login", "logout", "openapi", "docs",
        "unlock", "www", "app", "dashboard", "settings", "help", "about",
    }
)  # fmt: skip


def validate_alias(alias: str) -> str:
    if not MIN_LENGTH <= len(alias) <= MAX_LENGTH:
        raise InvalidAlias(f"Alias must be {MIN_LENGTH}-{MAX_LENGTH} characters long", alias=alias)
    if not ALIAS_PATTERN.fullmatch(alias):
        raise InvalidAlias("Alias may contain only letters, digits, '-' and '_'", alias=alias)
    if alias.lower() in RESERVED:
        raise InvalidAlias(f"Alias '{alias}' is reserved", alias=alias)
    return alias


def could_be_code(code: str) -> bool:
    """Whether ``code`` has the shape of a stored code (generated ones are aliases'
    shape too): anything else can't exist, so it needn't reach caches or storage."""
    return len(code) <= MAX_LENGTH and ALIAS_PATTERN.fullmatch(code) is not None


def suggestion_candidates(alias: str, today: date, random_suffixes: Iterable[str]) -> list[str]:
    """Alternatives for a taken alias, most natural first; all valid aliases.

    The caller filters them against storage, so only free ones are offered.
    """
    suffixes = [str(n) for n in range(2, 6)] + [str(today.year)]
    suffixes += list(random_suffixes)
    seen: set[str] = set()
    out: list[str] = []
    for suffix in suffixes:
        stem = alias[: MAX_LENGTH - len(suffix) - 1].rstrip("-_")
        candidate = f"{stem}-{suffix}"
        if candidate not in seen and _is_valid(candidate):
            seen.add(candidate)
            out.append(candidate)
    return out


def _is_valid(alias: str) -> bool:
    try:
        validate_alias(alias)
    except InvalidAlias:
        return False
    return True


def random_suffix(choice: Callable[[str], str], length: int = 3) -> str:
    """A short random suffix; ``choice`` is ``secrets.choice`` (or a seeded one in tests)."""
    return "".join(choice(ALPHABET[:36]) for _ in range(length))
