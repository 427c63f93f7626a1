"""Link lifecycle events: what the API announces to downstream consumers (seed flows 1 and 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from shortlink.domain.clicks import ClickEvent

LinkEventType = Literal["url.created", "url.bulk_created", "url.updated", "url.deleted"]


@dataclass(frozen=True, slots=True)
class LinkEvent:
    type: LinkEventType
    owner: str | None  # None: created anonymously
    codes: tuple[str, ...]
    timestamp: float  # epoch seconds


class LinkEventSink(Protocol):
    """Where link changes are announced. Like ``ClickSink.emit``, ``publish``
    never blocks and never raises: the change itself is already committed."""

    def publish(self, event: LinkEvent) -> None: ...


class DiscardEvents:
    """Click and link sink for when no event bus is configured (SHORTLINK_EVENTS=off)."""

    def emit(self, event: ClickEvent) -> None:
        return None

    def publish(self, event: LinkEvent) -> None:
        return None
