"""Issue 24, misconfiguration: with SHORTLINK_PRODUCTION=true, a clicks topic one
broker holds (the 1-broker harness: replication 1, min.insync.replicas 1) is named
on /readyz in one line; the components stay ready and no redirect fails. (Without
production mode there is no such check: tests/unit/test_bus_durability.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import PostgresServer, RedisServer
from tests.harness.kafka import KafkaServer
from tests.harness.stack import start_stack
from tests.support.links import LinkStack
from tests.support.waiting import wait_for


def test_production_mode_names_a_clicks_topic_one_broker_can_lose(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    kafka_server: KafkaServer,
    tmp_path: Path,
) -> None:
    topic = "production-clicks"
    kafka_server.create_topic(topic, 2)
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_server.bootstrap_servers}
    env |= {"SHORTLINK_CLICKS_TOPIC": topic, "SHORTLINK_PRODUCTION": "true"}
    api, redirector, _ = start_stack(postgres_server, redis_server, tmp_path, **env)
    try:
        stack = LinkStack()
        stack.api, stack.redirectors = api, [redirector]
        for process in (api, redirector):

            def problem(process: object = process) -> str:
                answer = stack.readyz(process)  # type: ignore[arg-type]
                return str(answer.get("problems", {}).get("kafka_replication", ""))  # type: ignore[union-attr]

            said = wait_for("the topic's replication on /readyz", problem)
            assert f"topic {topic!r} has replication factor 1" in said, said
            assert "min.insync.replicas=1" in said and "\n" not in said, said
            response = httpx.get(f"{process.ops_url}/readyz", timeout=5)
            assert response.status_code == 200 and response.json()["status"] == "ready"
        code = stack.new_link("https://example.com/production")
        assert stack.served(code) == ["https://example.com/production"]
    finally:
        redirector.stop()
        api.stop()
