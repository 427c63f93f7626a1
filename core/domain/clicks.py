"""Click events: what a redirect reports, and the port it reports through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ClickEvent:
    event_id: str  # unique per click, so downstream can deduplicate at-least-once delivery
    code: str
    timestamp: float  # epoch seconds
    ip: str
    user_agent: str
    referrer: str
    method: str


class ClickSink(Protocol):
    """Where redirects report clicks. ``emit`` must never block and never raise:
    analytics is worth less than the redirect it describes."""

    def emit(self, event: ClickEvent) -> None: ...
