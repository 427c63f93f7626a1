"""What a Kafka topic's durability is, read through the admin API (aiokafka)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code

from shortlink.domain.bus_durability import TopicDurability, production_problem

MIN_INSYNC = "min.insync.replicas"


class TopicProblem(Exception):
    """The topic can't be described, or isn't fit for production; one line."""


async def describe_durability(bootstrap_servers: str, topic: str) -> TopicDurability:
    """Callers bound the time (readiness checks are); each request gets 2 s."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=2000,
        client_id="shortlink-readiness",
    )
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        if described["error_code"]:
            error = for_code(described["error_code"]).__name__
            raise TopicProblem(f"topic {topic!r} can't be described: {error}")
        replicas = [len(partition["replicas"]) for partition in described["partitions"]]
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={MIN_INSYNC: None})]
        )
        return TopicDurability(topic, min(replicas, default=0), _min_insync(response, topic))
    finally:
        await admin.close()


def _min_insync(response: Any, topic: str) -> int:
    # resources: (error_code, error_message, type, name, [(name, value, ...), ...])
    for error_code, message, _, _, entries in response.resources:
        if error_code:
            raise TopicProblem(f"topic {topic!r} configs: {message or for_code(error_code)}")
        for name, value, *_ in entries:
            if name == MIN_INSYNC:
                return int(value)
    raise TopicProblem(f"topic {topic!r}: the broker did not say its {MIN_INSYNC}")


class ProductionTopicCheck:
    """A readiness check: raises TopicProblem while ``topic`` is not fit for
    production. The answer is kept ``keep`` seconds: a topic's replication seldom
    changes, and a probe every few seconds need not open an admin connection."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        keep: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._keep = keep
        self._monotonic = monotonic
        self._answer: tuple[float, str | None] | None = None

    async def __call__(self) -> None:
        now = self._monotonic()
        if self._answer is None or now - self._answer[0] > self._keep:
            durability = await describe_durability(self._bootstrap_servers, self._topic)
            self._answer = (now, production_problem(durability))
        if (problem := self._answer[1]) is not None:
            raise TopicProblem(problem)
