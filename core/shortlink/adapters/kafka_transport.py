"""Event transport over Kafka (aiokafka): batched and compressed by the producer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError

from shortlink.adapters.event_publisher import Undeliverable


class KafkaTransport:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        compression: str | None = "zstd",
        request_timeout: float = 10.0,
        client_id: str = "shortlink",
        acks: str = "all",
        idempotence: bool = True,
    ) -> None:
        self.options: dict[str, object] = {
            "bootstrap_servers": bootstrap_servers,
            "compression_type": compression,
            "linger_ms": 5,
            "max_batch_size": 1 << 20,
            "acks": "all" if acks == "all" else int(acks),
            "enable_idempotence": idempotence,
            "request_timeout_ms": int(request_timeout * 1000),
            "client_id": client_id,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(**self.options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def send(self, topic: str, records: Sequence[bytes]) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaTransport.send before start()")
        # send() only queues into the producer's batches; the futures resolve on
        # the broker's acknowledgement (or its failure).
        try:
            acks = [await self._producer.send(topic, record) for record in records]
            await asyncio.gather(*acks)
        except (MessageSizeTooLargeError, RecordTooLargeError) as exc:
            raise Undeliverable(repr(exc)) from exc

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
