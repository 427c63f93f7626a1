"""Page cursors of GET /v1/urls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from shortlink.domain.errors import InvalidRequest

# A page cursor is "<microseconds since the epoch>.<code>" of the last link seen:
# every string of that shape is a valid place to continue from (the OpenAPI
# pattern states exactly this), so a client can't make one the server refuses.
CURSOR_PATTERN = re.compile(r"([0-9]{1,16})\.([a-zA-Z0-9_-]{1,20})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(created_at: datetime, code: str) -> str:
    return f"{(created_at - _EPOCH) // _MICROSECOND}.{code}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    match = CURSOR_PATTERN.fullmatch(cursor)
    if match is None:
        raise InvalidRequest("cursor is not valid; use next_cursor from a previous page")
    return _EPOCH + int(match[1]) * _MICROSECOND, match[2]
