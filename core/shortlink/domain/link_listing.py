"""How a caller asks for their links: search text, a status filter, a sort order."""

from __future__ import annotations

from dataclasses import dataclass

from shortlink.domain.errors import InvalidRequest
from shortlink.domain.link_options import MAX_FOLDER_LENGTH, MAX_TAG_LENGTH
from shortlink.domain.text import require_storable

# Keyset-paginated orders: every one ends on the unique code, so pages never overlap.
SORTS = ("-created_at", "created_at", "code", "-code")
STATUSES = ("all", "active", "expired", "inactive", "protected")
MAX_SEARCH_LENGTH = 200


@dataclass(frozen=True, slots=True)
class LinkFilter:
    search: str | None = None  # a substring of the code or the target, any case
    status: str = "all"
    sort: str = "-created_at"
    tag: str | None = None  # links carrying this tag
    folder: str | None = None  # links in this folder or one below it

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def by_code(self) -> bool:
        return self.sort.lstrip("-") == "code"


EVERY_LINK = LinkFilter()


def parse_link_filter(
    search: str | None,
    status: str | None,
    sort: str | None,
    tag: str | None = None,
    folder: str | None = None,
) -> LinkFilter:
    text = require_storable((search or "").strip(), "q")
    if len(text) > MAX_SEARCH_LENGTH:
        raise InvalidRequest(f"q must be at most {MAX_SEARCH_LENGTH} characters")
    status = "all" if status is None else status
    if status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
    sort = "-created_at" if sort is None else sort
    if sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}")
    if tag is not None:
        tag = require_storable(tag, "tag").strip().lower() or None
    if folder is not None:
        folder = require_storable(folder, "folder").strip().strip("/") or None
    for name, value, most in (("tag", tag, MAX_TAG_LENGTH), ("folder", folder, MAX_FOLDER_LENGTH)):
        if value is not None and len(value) > most:
            raise InvalidRequest(f"{name} must be at most {most} characters", field=name)
    return LinkFilter(text or None, status, sort, tag, folder)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
