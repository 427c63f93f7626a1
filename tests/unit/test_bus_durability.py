"""What production wants of the clicks topic (pure)."""

from __future__ import annotations

import pytest

from shortlink.adapters.kafka_topics import ProductionTopicCheck
from shortlink.config import Settings
from shortlink.domain.bus_durability import TopicDurability, production_problem
from shortlink.wiring import bus_durability_check


def test_three_replicas_two_in_sync_is_fit_for_production() -> None:
    assert production_problem(TopicDurability("clicks", 3, 2)) is None
    assert production_problem(TopicDurability("clicks", 2, 2)) is None


@pytest.mark.parametrize(
    ("durability", "named"),
    [
        (TopicDurability("clicks", 1, 1), "has replication factor 1 and min.insync.replicas=1"),
        (TopicDurability("clicks", 1, 2), "has replication factor 1:"),
        (TopicDurability("clicks", 3, 1), "has min.insync.replicas=1:"),
    ],
)
def test_a_topic_one_broker_can_lose_is_named_on_one_line(
    durability: TopicDurability, named: str
) -> None:
    problem = production_problem(durability)
    assert problem is not None
    assert problem.startswith("topic 'clicks' ") and named in problem, problem
    assert "\n" not in problem and "SHORTLINK_PRODUCTION" in problem


def test_only_production_with_clicks_on_kafka_checks_the_topic() -> None:
    kafka = {"KAFKA_BOOTSTRAP_SERVERS": "k1:9092", "SHORTLINK_SECRET_KEY": "x" * 32}
    assert bus_durability_check(Settings.from_env(kafka)) is None  # dev, tests
    production = {**kafka, "SHORTLINK_PRODUCTION": "true"}
    assert isinstance(bus_durability_check(Settings.from_env(production)), ProductionTopicCheck)
    no_bus = {**production, "SHORTLINK_EVENTS": "off"}
    assert bus_durability_check(Settings.from_env(no_bus)) is None
