"""Clicks → Kafka → ingest → ClickHouse (chDB) → stats API, with real processes.

The API process hosts the ingest loop here (SHORTLINK_ANALYTICS_EMBEDDED): chDB
lets one process own a data directory, and the stats API must read it. The
standalone `shortlink analytics` worker is exercised at the end of the module.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shortlink.adapters.event_codec import encode_clicks
from shortlink.domain.clicks import ClickEvent
from tests.e2e.conftest import ApiClient
from tests.harness import PostgresServer, RedisServer, ServiceProcess, free_port
from tests.harness.kafka import KafkaServer
from tests.harness.stack import API_KEY, SECRET, component_process, start_stack
from tests.support.prometheus import scrape
from tests.support.waiting import wait_for

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLACK_PREVIEW = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
IN_GB, IN_US = "81.2.69.142", "8.8.8.8"
_names = itertools.count()


@dataclass
class AnalyticsStack:
    api: ServiceProcess
    redirector: ServiceProcess
    client: ApiClient
    kafka: KafkaServer
    topic: str
    env: dict[str, str]

    def metric(self, name: str) -> float:
        """A sample of the API process (which hosts the ingest loop); 0 if absent."""
        return scrape(self.api.ops_url, name)


def _stack_env(kafka: KafkaServer, chdb_dir: Path) -> tuple[str, dict[str, str]]:
    suffix = f"{os.getpid()}-{next(_names)}"
    topic = f"clicks-{suffix}"
    kafka.create_topic(topic, 4)
    return topic, {
        "SHORTLINK_EVENTS": "kafka",
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SHORTLINK_CLICKS_TOPIC": topic,
        "SHORTLINK_LINKS_TOPIC": f"links-{suffix}",
        "SHORTLINK_ANALYTICS_GROUP": f"analytics-{suffix}",
        "CLICKHOUSE_URL": f"chdb://{chdb_dir}",
        "SHORTLINK_ANALYTICS_EMBEDDED": "true",
        "SHORTLINK_ANALYTICS_FLUSH_MS": "200",
        "SHORTLINK_PROXIES_COUNT": "1",  # the test client plays the trusted proxy
    }


@pytest.fixture(scope="module")
def analytics(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    kafka_server: KafkaServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AnalyticsStack]:
    work = tmp_path_factory.mktemp("analytics")
    topic, env = _stack_env(kafka_server, work / "chdb")
    api, redirector, _ = start_stack(postgres_server, redis_server, work / "logs", **env)
    spec = httpx.get(f"{api.base_url}/v1/openapi.json").json()
    yield AnalyticsStack(api, redirector, ApiClient(api.base_url, spec), kafka_server, topic, env)
    redirector.stop()
    api.stop()


def _new_link(stack: AnalyticsStack) -> str:
    created = stack.client.call("POST", "/v1/urls", json={"original_url": "https://example.com/"})
    assert created.status_code == 201
    code: str = created.json()["short_code"]
    return code


def _stats(stack: AnalyticsStack, code: str) -> dict[str, Any]:
    response = stack.client.call("GET", "/v1/urls/{code}/stats", path={"code": code})
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()
    return stats


def _wait_for_clicks(
    stack: AnalyticsStack, code: str, clicks: int, within: float = 60.0
) -> dict[str, Any]:
    def arrived() -> dict[str, Any] | None:
        stats = _stats(stack, code)
        total: int = stats["totals"]["clicks"]
        assert total <= clicks, f"more clicks than sent: {total} > {clicks}"
        return stats if total == clicks else None

    return wait_for(f"{clicks} clicks on {code}", arrived, within)


def _visit(stack: AnalyticsStack, code: str, agent: str, address: str, **headers: str) -> int:
    response = httpx.request(
        headers.pop("method", "GET"),
        f"{stack.redirector.base_url}/{code}",
        headers={"User-Agent": agent, "X-Forwarded-For": address, **headers},
    )
    return response.status_code


def test_clicks_are_counted_exactly_and_broken_down(analytics: AnalyticsStack) -> None:
    code = _new_link(analytics)
    visits = [(CHROME, IN_GB, {"Referer": "https://news.ycombinator.com/item?id=1"})] * 6
    visits += [(IPHONE, IN_US, {})] * 3
    visits += [(GOOGLEBOT, IN_US, {})] * 2 + [(SLACK_PREVIEW, IN_US, {})]
    visits += [(CHROME, IN_GB, {"method": "HEAD"})]
    for agent, address, headers in visits:
        assert _visit(analytics, code, agent, address, **headers) == 302

    stats = _wait_for_clicks(analytics, code, 9)
    wait_for("bot clicks", lambda: _stats(analytics, code)["totals"]["bot_clicks"] == 3, 10)
    stats = _stats(analytics, code)
    assert stats["totals"] == {"clicks": 9, "bot_clicks": 3, "unique_visitors": 2}
    assert stats["countries"] == [{"value": "GB", "clicks": 6}, {"value": "US", "clicks": 3}]
    assert stats["devices"] == [
        {"value": "desktop", "clicks": 6},
        {"value": "mobile", "clicks": 3},
    ]
    assert [b["value"] for b in stats["browsers"]] == ["Chrome", "Mobile Safari"]
    assert [o["value"] for o in stats["os"]] == ["Windows", "iOS"]
    assert stats["referrers"] == [{"value": "news.ycombinator.com", "clicks": 6}]
    assert sum(point["clicks"] for point in stats["series"]) == 9
    assert stats["cities"][0] == {"value": "London, GB", "clicks": 6}


def test_a_user_agent_that_is_not_utf8_costs_no_click(analytics: AnalyticsStack) -> None:
    """Issue 13, finding 2: one such request used to lose every click sent with it."""
    code = _new_link(analytics)
    hostile = CHROME.encode() + b" \xff\xfe"
    with httpx.Client() as client:
        for n in range(11):
            agent = hostile if n == 5 else CHROME.encode()
            response = client.get(
                f"{analytics.redirector.base_url}/{code}",
                headers={"User-Agent": agent, "X-Forwarded-For": IN_GB, "Referer": "x" * 5000},
            )
            assert response.status_code == 302
    _wait_for_clicks(analytics, code, 11)


def test_stats_are_for_the_owner_only_and_validate_input(analytics: AnalyticsStack) -> None:
    code = _new_link(analytics)
    other = analytics.client.call(
        "POST", "/v1/api-keys", json={"name": "other", "owner": "someone-else"}
    ).json()["key"]
    assert (
        analytics.client.call(
            "GET", "/v1/urls/{code}/stats", key=other, path={"code": code}
        ).status_code
        == 404
    )
    bad = analytics.client.call(
        "GET", "/v1/urls/{code}/stats", path={"code": code}, params={"interval": "week"}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "INVALID_REQUEST"
    backwards = analytics.client.call(
        "GET",
        "/v1/urls/{code}/stats",
        path={"code": code},
        params={"from": "2026-02-01", "to": "2026-01-01"},
    )
    assert backwards.status_code == 400
    hourly = analytics.client.call(
        "GET",
        "/v1/urls/{code}/stats",
        path={"code": code},
        params={"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T06:00:00Z", "interval": "hour"},
    ).json()
    assert len(hourly["series"]) == 6 and hourly["totals"]["clicks"] == 0


async def _produce(bootstrap: str, topic: str, records: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        acks = [await producer.send(topic, record) for record in records]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


def _clicks(code: str, count: int, start: float) -> list[ClickEvent]:
    run = secrets.token_hex(4)
    return [
        ClickEvent(f"{run}-{n}", code, start + n / 1000, f"10.0.{n % 250}.1", CHROME, "", "GET")
        for n in range(count)
    ]


def test_ingest_killed_mid_batch_loses_and_doubles_nothing(analytics: AnalyticsStack) -> None:
    code = _new_link(analytics)
    events = _clicks(code, 60_000, time.time() - 60)
    records = [encode_clicks(events[i : i + 500]) for i in range(0, len(events), 500)]
    stored_before = analytics.metric("shortlink_analytics_stored_total")
    asyncio.run(_produce(analytics.kafka.bootstrap_servers, analytics.topic, records))

    wait_for(
        "ingest under way",
        lambda: analytics.metric("shortlink_analytics_stored_total") > stored_before,
        30,
    )
    assert analytics.api.process is not None
    os.kill(analytics.api.process.pid, signal.SIGKILL)  # a crash, mid-stream
    analytics.api.process.wait()
    analytics.api.process = None
    analytics.api.start()  # same chDB directory, same consumer group

    stats = _wait_for_clicks(analytics, code, len(events), within=120)
    assert stats["totals"]["unique_visitors"] == 250
    # The new process stored only what the killed one had not: the kill was mid-stream.
    assert 0 < analytics.metric("shortlink_analytics_stored_total") < len(events)
    time.sleep(1.0)  # several flush intervals: a replayed tail stored twice would show now
    assert _stats(analytics, code)["totals"]["clicks"] == len(events)


def test_redirects_ride_out_a_kafka_outage_and_clicks_arrive_after(
    analytics: AnalyticsStack,
) -> None:
    code = _new_link(analytics)
    analytics.kafka.stop()
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _visit(analytics, code, CHROME, IN_GB), range(300)))
        assert statuses == [302] * 300  # the redirector never waited on Kafka
    finally:
        analytics.kafka.start()
    _wait_for_clicks(analytics, code, 300, within=90)


def test_poison_records_are_skipped(analytics: AnalyticsStack) -> None:
    code = _new_link(analytics)
    poison_before = analytics.metric("shortlink_analytics_poison_records_total")
    good = encode_clicks(_clicks(code, 5, time.time()))
    records = [b"\x00not json", b'{"v": 99, "type": "url.clicked", "events": []}', good]
    asyncio.run(_produce(analytics.kafka.bootstrap_servers, analytics.topic, records))

    _wait_for_clicks(analytics, code, 5)
    assert analytics.metric("shortlink_analytics_poison_records_total") >= poison_before + 2


def test_a_click_from_beyond_2106_is_counted_malformed_and_holds_nothing_up(
    analytics: AnalyticsStack,
) -> None:
    """Issue 19, finding 6: a timestamp of 1e308 used to stop ingest for good."""
    code = _new_link(analytics)
    malformed_before = analytics.metric("shortlink_analytics_malformed_events_total")
    [poisoned] = _clicks(code, 1, time.time())
    records = [
        encode_clicks([replace(poisoned, timestamp=1e308)]),
        encode_clicks(_clicks(code, 5, time.time())),
    ]
    asyncio.run(_produce(analytics.kafka.bootstrap_servers, analytics.topic, records))

    _wait_for_clicks(analytics, code, 5)
    assert analytics.metric("shortlink_analytics_malformed_events_total") >= malformed_before + 1


def test_stats_outside_what_clickhouse_can_hold_are_a_400(analytics: AnalyticsStack) -> None:
    """Issue 19, finding 7: before 1970 was a 503 ANALYTICS_UNAVAILABLE and an ERROR."""
    code = _new_link(analytics)
    for params in (
        {"from": "1969-12-01", "to": "1970-01-02"},
        {"from": "1960-01-01"},
        {"to": "2107-01-01"},
        {"from": "2106-03-01", "to": "2106-04-01"},
        {"from": "2106-01-01", "to": "2106-02-01"},  # storable, but past the years documented
    ):
        response = analytics.client.call(
            "GET", "/v1/urls/{code}/stats", path={"code": code}, params=params
        )
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"] == "INVALID_REQUEST"
    # A default 'from' that would fall before 1970 starts at 1970 instead.
    early = analytics.client.call(
        "GET", "/v1/urls/{code}/stats", path={"code": code}, params={"to": "1970-01-05"}
    )
    assert early.status_code == 200 and len(early.json()["series"]) == 4
    for interval in ("hour", "day"):  # the edges of the years the document allows are answered
        edges = {"from": "2105-12-25T00:00:00Z", "to": "2105-12-31T23:59:59Z"}
        last = analytics.client.call(
            "GET",
            "/v1/urls/{code}/stats",
            path={"code": code},
            params={**edges, "interval": interval},
        )
        assert last.status_code == 200, last.text
        first = analytics.client.call(
            "GET",
            "/v1/urls/{code}/stats",
            path={"code": code},
            params={
                "from": "1970-01-01T00:00:00Z",
                "to": "1970-01-03T00:30:00Z",
                "interval": interval,
            },
        )
        assert first.status_code == 200, first.text


def test_standalone_worker_drains_into_the_store_the_api_reads(
    analytics: AnalyticsStack, tmp_path: Path, redis_server: RedisServer
) -> None:
    """`shortlink analytics` as its own process: it owns its chDB directory while
    running; after a graceful stop, an API process reads the same directory."""
    code = _new_link(analytics)
    topic, env = _stack_env(analytics.kafka, tmp_path / "chdb")
    env["SHORTLINK_ANALYTICS_EMBEDDED"] = "false"
    port = free_port()
    worker_env = {
        **analytics.env,
        **env,
        "REDIS_URL": redis_server.url,
        "SHORTLINK_SECRET_KEY": SECRET,
        "SHORTLINK_ANALYTICS_PORT": str(port),
        "SHORTLINK_HOST": "127.0.0.1",
    }
    worker = ServiceProcess(
        ["shortlink", "analytics"], env=worker_env, port=port, log_dir=tmp_path, name="worker"
    )
    events = _clicks(code, 1_000, time.time())
    with worker:
        # Ready once it has connected to the bus (in the background, after start).
        wait_for(
            "the worker to be ready",
            lambda: httpx.get(f"{worker.base_url}/readyz").status_code == 200,
            30,
        )
        asyncio.run(_produce(analytics.kafka.bootstrap_servers, topic, [encode_clicks(events)]))

        wait_for(
            "worker stored every event",
            lambda: scrape(worker.base_url, "shortlink_analytics_stored_total") == len(events),
            60,
        )

    reader_env = {**analytics.env, **env}  # same database, the worker's chDB directory
    api = component_process(
        "api",
        {
            **reader_env,
            "DATABASE_URL": analytics.api.env["DATABASE_URL"],
            "REDIS_URL": redis_server.url,
            "SHORTLINK_SECRET_KEY": SECRET,
            "SHORTLINK_INITIAL_API_KEY": API_KEY,
            "SHORTLINK_HOST": "127.0.0.1",
        },
        tmp_path,
        name="reader-api",
    )
    with api:
        response = httpx.get(
            f"{api.base_url}/v1/urls/{code}/stats", headers={"Authorization": f"Bearer {API_KEY}"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["totals"]["clicks"] == len(events)


def test_api_starts_without_clickhouse_and_stats_say_unavailable(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    api, redirector, _ = start_stack(
        postgres_server, redis_server, tmp_path, CLICKHOUSE_URL=f"http://127.0.0.1:{free_port()}"
    )
    try:
        spec = httpx.get(f"{api.base_url}/v1/openapi.json").json()
        client = ApiClient(api.base_url, spec)
        code = client.call(
            "POST", "/v1/urls", json={"original_url": "https://example.com/"}
        ).json()["short_code"]
        stats = client.call("GET", "/v1/urls/{code}/stats", path={"code": code})
        assert stats.status_code == 503
        assert stats.json()["error"] == "ANALYTICS_UNAVAILABLE"
        assert "not reachable" in stats.json()["message"]  # configured, just down
    finally:
        redirector.stop()
        api.stop()
