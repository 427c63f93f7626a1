"""Issue 24: clicks on a three-broker KRaft cluster (replication 3, min.insync.replicas=2)
through the product's own producer (acks=all, idempotent) and analytics ingest into
ClickHouse (chDB). Under a steady click load a broker is killed, restarted, and its
partition leaderships move back to it (preferred-leader rebalance): no click is lost,
none is stored twice, and the ingest catches up within 5 s."""

from __future__ import annotations

import asyncio
import time
import uuid

from shortlink.adapters.clickhouse import ClickStore
from shortlink.analytics.runner import IngestRunner
from shortlink.config import Settings
from shortlink.domain.clicks import ClickEvent
from shortlink.wiring import event_publisher, redis_client
from tests.harness.kafka import KafkaCluster

RATE = 10_000  # clicks/s, as the issue asks
TICK = 0.05
CATCH_UP = 5.0
MOVE_POLLS = 40  # up to 20 s more under load for the leaderships to leave the victim


def _click(n: int) -> ClickEvent:
    return ClickEvent(
        event_id=f"{uuid.uuid4().hex}-{n}",
        code="cluster",
        timestamp=time.time(),
        ip=f"198.51.100.{n % 250}",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        referrer="",
        method="GET",
    )


async def _stored(store: ClickStore) -> tuple[int, int]:
    """(rows, distinct event ids) in the raw clicks table."""
    result = await asyncio.to_thread(
        store.client.query, "SELECT count(), uniqExact(event_id) FROM clicks"
    )
    rows, distinct = result.result_rows[0]
    return int(rows), int(distinct)


async def test_no_click_is_lost_or_counted_twice_across_a_broker_kill_restart_and_leader_move(
    kafka_cluster: KafkaCluster, clickhouse_url: str, redis_url: str
) -> None:
    topic = f"clicks-{uuid.uuid4().hex[:8]}"
    kafka_cluster.create_topic(topic)
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap_servers,
            "SHORTLINK_CLICKS_TOPIC": topic,
            "SHORTLINK_ANALYTICS_GROUP": f"analytics-{topic}",
            "SHORTLINK_ANALYTICS_FLUSH_MS": "200",
            "CLICKHOUSE_URL": clickhouse_url,
            "REDIS_URL": redis_url,
            "SHORTLINK_SECRET_KEY": "three-brokers-secret-0123456789-abcdef",
        }
    )
    assert (settings.kafka_acks, settings.kafka_idempotence) == ("all", True)
    store = ClickStore.connect(clickhouse_url)
    await store.apply_migrations()
    redis = redis_client(redis_url)
    runner = IngestRunner(settings, store, redis)  # before the try: nothing to stop yet
    publisher = event_publisher(settings, redis)
    assert publisher is not None
    publisher.start()
    runner.start()
    sent = 0
    producing = 0.0  # seconds spent under load, for the rate achieved

    async def produce(seconds: float) -> None:
        """RATE clicks a second for ``seconds``: paced by the clock, so time spent
        emitting doesn't lower the rate."""
        nonlocal sent, producing
        started = time.monotonic()
        emitted = 0
        while (elapsed := time.monotonic() - started) < seconds + TICK:
            for _ in range(int(min(elapsed, seconds) * RATE) - emitted):
                publisher.emit(_click(sent))
                sent += 1
                emitted += 1
            if elapsed >= seconds:
                break
            await asyncio.sleep(TICK)
        producing += time.monotonic() - started

    victim = kafka_cluster.nodes[0]
    try:
        await produce(3)
        before = await asyncio.to_thread(kafka_cluster.leaders, topic)
        assert victim.node_id in before.values()  # it leads partitions when killed
        await asyncio.to_thread(victim.kill)
        await produce(6)
        # The controller moves leaderships once the victim's session (3 s) expires;
        # on a loaded host its metadata may lag further, so poll under load.
        for _ in range(MOVE_POLLS):
            moved = await asyncio.to_thread(kafka_cluster.leaders, topic)
            if victim.node_id not in moved.values():
                break
            await produce(0.5)
        assert victim.node_id not in moved.values(), moved
        restart = asyncio.create_task(asyncio.to_thread(victim.start))
        while not restart.done():
            await produce(0.5)
        await restart

        async def led_again() -> bool:
            leaders = await asyncio.to_thread(kafka_cluster.leaders, topic)
            return victim.node_id in leaders.values()

        for _ in range(40):  # leaderships move back to the restarted broker under load
            await produce(0.5)
            if await led_again():
                break
        assert await led_again(), "no partition leadership moved back to the restarted broker"
        await produce(3)
        load_ended = time.monotonic()
        while (await _stored(store))[1] < sent and time.monotonic() - load_ended < 60:  # noqa: ASYNC110 - polling another store, no event to wait on
            await asyncio.sleep(0.1)
        caught_up = time.monotonic() - load_ended
        rows, distinct = await _stored(store)
    finally:
        await publisher.stop()
        await runner.stop()
        await redis.aclose()
        store.close()
        if not victim.running:
            victim.start()

    rate = sent / producing
    print(
        f"sent={sent} rate={rate:.0f}/s rows={rows} distinct={distinct} caught_up_s={caught_up:.2f}"
    )
    assert rate > 0.8 * RATE, f"the load reached {rate:.0f} clicks/s only"
    assert distinct == sent, f"{sent - distinct} clicks lost"
    assert rows == distinct, f"{rows - distinct} clicks stored twice"
    assert caught_up < CATCH_UP, f"ingest lag {caught_up:.1f} s after the load ended"


def test_the_leaders_are_read_while_a_broker_is_down(kafka_cluster: KafkaCluster) -> None:
    """The harness's leader query answers while the metadata still names a killed
    broker (CI's NodeNotReadyError: aiokafka had sent it to that broker)."""
    topic = f"leaders-{uuid.uuid4().hex[:8]}"
    kafka_cluster.create_topic(topic)
    victim = kafka_cluster.nodes[0]
    victim.kill()
    try:
        for _ in range(30):  # a killed broker is listed until its session expires (3 s)
            leaders = kafka_cluster.leaders(topic)
            assert len(leaders) == 6, leaders
    finally:
        victim.start()
