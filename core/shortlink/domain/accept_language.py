"""Accept-Language (RFC 9110 §12.5.4) → the visitor's languages, most preferred first.

Parsed with string splits only, and bounded: a header is cut at ``MAX_HEADER``
characters and ``MAX_RANGES`` ranges, so a hostile one costs microseconds.
"""

from __future__ import annotations

import functools

MAX_HEADER = 512
MAX_RANGES = 20


def _quality(params: list[str]) -> float | None:
    """The q-value of a range's parameters: 1 when absent, None when malformed."""
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() != "q":
            continue
        try:
            q = float(value.strip())
        except ValueError:
            return None
        return q if 0 <= q <= 1 else None
    return 1.0


@functools.lru_cache(maxsize=4096)
def preferred_languages(header: str) -> tuple[str, ...]:
    """Lower-case language tags by descending q (ties keep header order). Ranges with
    q=0 ("not acceptable"), the wildcard ``*`` and malformed ones are left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *params = item.split(";")
        tag = tag.strip().lower()
        q = _quality(params)
        if not tag or tag == "*" or q is None or q == 0:
            continue
        if not all(part.isalnum() and part.isascii() for part in tag.split("-")):
            continue
        ranked.append((-q, position, tag))
    ranked.sort()
    return tuple(tag for _, _, tag in ranked)


def language_matches(tag: str, wanted: str) -> bool:
    """ "de" covers "de" and "de-at"; "de-at" covers only itself (RFC 4647 basic filtering)."""
    return tag == wanted or tag.startswith(wanted + "-")
