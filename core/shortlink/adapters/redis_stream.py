"""Events over a Redis stream: the embedded bus of `shortlink dev` (no Kafka
there). Same contracts as the Kafka adapters: whole records, at-least-once,
acknowledged only on commit."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import ResponseError

from shortlink.adapters.event_source import SourceRecord
from shortlink.adapters.redis_connection import RedisClient

MAX_LENGTH = 1_000_000  # entries kept per stream (approximate trim)
_SEQUENCE_BITS = 20


def entry_offset(entry_id: bytes) -> int:
    """A stream entry id ("<ms>-<seq>") as one ordered integer."""
    milliseconds, sequence = entry_id.split(b"-")
    return (int(milliseconds) << _SEQUENCE_BITS) | int(sequence)


class RedisStreamTransport:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def start(self) -> None:
        await self._redis.ping()

    async def send(self, topic: str, records: Sequence[bytes]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.xadd(topic, {"v": record}, maxlen=MAX_LENGTH, approximate=True)
            await pipe.execute()

    async def stop(self) -> None:
        return None


class RedisStreamSource:
    """Reads with its own client (closed by ``stop``): blocking reads need a
    socket timeout longer than the block."""

    def __init__(self, redis: RedisClient, topic: str, group: str, consumer: str) -> None:
        self._redis = redis
        self._topic = topic
        self._group = group
        self._consumer = consumer
        self._unacked: list[tuple[int, bytes]] = []
        # After a restart our own unacknowledged entries come first, read from
        # this cursor onwards; None once they are all read (then only new ones).
        self._pending_cursor: bytes | None = b"0"

    async def start(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self._redis.xgroup_create(self._topic, self._group, id="0", mkstream=True)

    async def fetch(self, max_records: int, wait: float) -> list[SourceRecord]:
        entries = await self._read_pending(max_records)
        if not entries:
            reply: Any = await self._redis.xreadgroup(
                self._group,
                self._consumer,
                {self._topic: ">"},
                count=max_records,
                block=max(1, int(wait * 1000)),
            )
            entries = reply[0][1] if reply else []
        records = []
        for entry_id, fields in entries:
            offset = entry_offset(entry_id)
            self._unacked.append((offset, entry_id))
            records.append(SourceRecord(self._topic, offset, fields.get(b"v")))
        return records

    async def _read_pending(self, max_records: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        if self._pending_cursor is None:
            return []
        reply: Any = await self._redis.xreadgroup(
            self._group, self._consumer, {self._topic: self._pending_cursor}, count=max_records
        )
        entries: list[tuple[bytes, dict[bytes, bytes]]] = reply[0][1] if reply else []
        self._pending_cursor = entries[-1][0] if entries else None
        return entries

    async def commit(self, positions: Mapping[str, int]) -> bool:
        upto = positions.get(self._topic)
        if upto is None:
            return True
        done = [entry_id for offset, entry_id in self._unacked if offset <= upto]
        self._unacked = [(o, e) for o, e in self._unacked if o > upto]
        if done:
            await self._redis.xack(self._topic, self._group, *done)
        return True

    async def stop(self) -> None:
        await self._redis.aclose()
