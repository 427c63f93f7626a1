"""In-process click sink: a bounded buffer that drops (and counts) on overflow.

Stands in until the Kafka producer arrives; it already has the same contract:
``emit`` is O(1), never blocks, never raises.
"""

from __future__ import annotations

from collections import deque

from shortlink.domain.clicks import ClickEvent


class BufferedClickSink:
    def __init__(self, capacity: int = 10_000) -> None:
        self._events: deque[ClickEvent] = deque()
        self._capacity = capacity
        self.emitted = 0
        self.dropped = 0

    def emit(self, event: ClickEvent) -> None:
        if len(self._events) >= self._capacity:
            self.dropped += 1
            return
        self._events.append(event)
        self.emitted += 1

    def drain(self, limit: int | None = None) -> list[ClickEvent]:
        """Take up to ``limit`` buffered events, oldest first."""
        count = len(self._events) if limit is None else min(limit, len(self._events))
        return [self._events.popleft() for _ in range(count)]

    def __len__(self) -> int:
        return len(self._events)
