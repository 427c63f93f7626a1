"""Text PostgreSQL can store. A ``text`` column can't hold NUL (U+0000), and a
lone surrogate (U+D800-U+DFFF unpaired, which JSON's \\ud800 escapes can carry)
has no UTF-8 form: either would fail in the database, so both are refused first."""

from __future__ import annotations

from collections.abc import Mapping

from shortlink.domain.errors import InvalidRequest


def is_storable(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")  # fails exactly on lone surrogates
    except UnicodeEncodeError:
        return False
    return True


def unstorable_error(field: str) -> InvalidRequest:
    return InvalidRequest(
        f"{field} must not contain NUL characters or unpaired surrogates", field=field
    )


def require_storable(value: str, field: str) -> str:
    """``value``, or InvalidRequest (400) naming ``field``."""
    if not is_storable(value):
        raise unstorable_error(field)
    return value


def unstorable_field(payload: object, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) in a parsed JSON document
    that can't be stored, or None when every one can."""
    if isinstance(payload, str):
        return None if is_storable(payload) else (path or "body")
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not is_storable(key):
                return path or "body"
            found = unstorable_field(value, here)
            if found is not None:
                return found
    elif isinstance(payload, list):
        for index, item in enumerate(payload):
            found = unstorable_field(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None
