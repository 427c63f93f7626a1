"""The port every event source (Kafka, a Redis stream in dev) implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SourceRecord:
    stream: str  # a partition, e.g. "shortlink.clicks/3"
    offset: int
    value: bytes | None


class EventSource(Protocol):
    async def start(self) -> None: ...

    async def fetch(self, max_records: int, wait: float) -> list[SourceRecord]: ...

    async def commit(self, positions: Mapping[str, int]) -> bool:
        """Mark everything up to each stream's offset processed; False if refused."""
        ...

    async def stop(self) -> None: ...
