"""Click records from Kafka through a consumer group, committed only on request."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from shortlink.adapters.event_source import SourceRecord

log = logging.getLogger(__name__)


def stream_name(partition: TopicPartition) -> str:
    return f"{partition.topic}/{partition.partition}"


class KafkaSource:
    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        *,
        client_id: str = "shortlink-analytics",
    ) -> None:
        self._topic = topic
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,  # offsets move only after rows are stored
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=64 << 20,
        )
        self._partitions: dict[str, TopicPartition] = {}

    async def start(self) -> None:
        self._consumer.subscribe([self._topic])
        await self._consumer.start()

    async def fetch(self, max_records: int, wait: float) -> list[SourceRecord]:
        batches = await self._consumer.getmany(timeout_ms=int(wait * 1000), max_records=max_records)
        records: list[SourceRecord] = []
        for partition, messages in batches.items():
            name = stream_name(partition)
            self._partitions[name] = partition
            records.extend(SourceRecord(name, m.offset, m.value) for m in messages)
        return records

    async def commit(self, positions: Mapping[str, int]) -> bool:
        offsets = {self._partitions[name]: offset + 1 for name, offset in positions.items()}
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took the partition away: its new owner replays from the
            # last commit, and drops what this batch already stored.
            log.warning("offset commit refused", extra={"error": str(exc)})
            return False
        return True

    async def stop(self) -> None:
        await self._consumer.stop()
