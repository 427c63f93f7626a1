"""Issue 24: the click producer's durability settings (pure: options only, no broker)."""

from __future__ import annotations

import pytest

from shortlink.adapters.kafka_transport import KafkaTransport
from shortlink.config import ConfigError, Settings
from shortlink.wiring import event_transport

KAFKA = {"KAFKA_BOOTSTRAP_SERVERS": "k0:9092,k1:9092,k2:9092"}


def test_by_default_the_producer_is_idempotent_and_waits_for_every_in_sync_replica() -> None:
    transport = event_transport(Settings.from_env(KAFKA), redis=None)  # type: ignore[arg-type]
    assert isinstance(transport, KafkaTransport)
    assert transport.options["acks"] == "all"
    assert transport.options["enable_idempotence"] is True


def test_a_leader_only_ack_is_a_choice_and_turns_idempotence_off() -> None:
    settings = Settings.from_env({**KAFKA, "KAFKA_ACKS": "1", "KAFKA_IDEMPOTENCE": "false"})
    transport = event_transport(settings, redis=None)  # type: ignore[arg-type]
    assert isinstance(transport, KafkaTransport)
    assert (transport.options["acks"], transport.options["enable_idempotence"]) == (1, False)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"KAFKA_ACKS": "2"}, "KAFKA_ACKS must be all or 1"),
        ({"KAFKA_ACKS": "1"}, "KAFKA_IDEMPOTENCE needs KAFKA_ACKS=all"),
    ],
)
def test_inconsistent_durability_settings_are_refused(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({**KAFKA, **env})
