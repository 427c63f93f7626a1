"""How durable a Kafka topic is, and what production wants of it: a topic one broker
holds (replication factor 1), or one that acknowledges a write only one replica has
(min.insync.replicas below 2), loses clicks with a single broker."""

from __future__ import annotations

from dataclasses import dataclass

PRODUCTION_REPLICATION = 3
PRODUCTION_MIN_INSYNC = 2


@dataclass(frozen=True)
class TopicDurability:
    topic: str
    replication_factor: int  # the fewest replicas any partition has
    min_insync_replicas: int


def production_problem(durability: TopicDurability) -> str | None:
    """One line saying why ``durability`` is not fit for production, else None."""
    shortfalls = []
    if durability.replication_factor < 2:
        shortfalls.append(f"replication factor {durability.replication_factor}")
    if durability.min_insync_replicas < PRODUCTION_MIN_INSYNC:
        shortfalls.append(f"min.insync.replicas={durability.min_insync_replicas}")
    if not shortfalls:
        return None
    return (
        f"topic {durability.topic!r} has {' and '.join(shortfalls)}: losing one broker "
        f"can lose acknowledged clicks (production wants replication {PRODUCTION_REPLICATION}, "
        f"min.insync.replicas={PRODUCTION_MIN_INSYNC}; SHORTLINK_PRODUCTION=true)"
    )
