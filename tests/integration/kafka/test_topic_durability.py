"""The clicks topic's durability read from a real broker (the 1-broker harness, so
replication 1: what production mode must name)."""

from __future__ import annotations

import asyncio

import pytest

from shortlink.adapters.kafka_topics import ProductionTopicCheck, TopicProblem, describe_durability
from shortlink.domain.bus_durability import TopicDurability
from tests.harness.kafka import KafkaServer


def test_a_one_broker_topic_is_described_and_refused_for_production(
    kafka_server: KafkaServer, kafka_topic: str
) -> None:
    servers = kafka_server.bootstrap_servers
    described = asyncio.run(describe_durability(servers, kafka_topic))
    assert described == TopicDurability(kafka_topic, 1, 1)  # the broker's default
    with pytest.raises(TopicProblem, match=r"replication factor 1 and min\.insync\.replicas=1"):
        asyncio.run(ProductionTopicCheck(servers, kafka_topic)())


def test_the_topics_own_min_insync_setting_is_read(kafka_server: KafkaServer) -> None:
    kafka_server.create_topic("durability-isr-2", 1, config={"min.insync.replicas": "2"})
    described = asyncio.run(describe_durability(kafka_server.bootstrap_servers, "durability-isr-2"))
    assert described == TopicDurability("durability-isr-2", 1, 2)


def test_a_missing_topic_is_named(kafka_server: KafkaServer) -> None:
    with pytest.raises(TopicProblem, match="'no-such-topic' can't be described"):
        asyncio.run(describe_durability(kafka_server.bootstrap_servers, "no-such-topic"))
