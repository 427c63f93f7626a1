"""SIGTERM under load: every answered redirect is a 302, no buffered click is lost,
the process exits within the documented time."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import redis

from shortlink.adapters.event_codec import decode_clicks
from tests.harness import PostgresServer, RedisServer
from tests.harness.stack import API_KEY, start_stack


def test_sigterm_under_load_finishes_requests_and_flushes_clicks(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path: Path,
) -> None:
    topic = f"clicks-sigterm-{os.getpid()}"
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path / "logs",
        SHORTLINK_EVENTS="redis",
        SHORTLINK_CLICKS_TOPIC=topic,
    )
    try:
        created = httpx.post(
            f"{api.base_url}/v1/urls",
            json={"original_url": "https://example.com/sigterm"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        code = created.json()["short_code"]
        answered: list[int] = []
        failures: list[str] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                try:
                    status = httpx.get(f"{redirector.base_url}/{code}", timeout=10).status_code
                except httpx.ConnectError:
                    continue  # refused: never accepted, the server had stopped listening
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                    continue
                answered.append(status)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        assert redirector.process is not None
        started = time.monotonic()
        redirector.process.send_signal(signal.SIGTERM)
        redirector.process.wait(30)
        exited_in = time.monotonic() - started
        stop.set()
        for thread in threads:
            thread.join(15)
        redirector.process = None
    finally:
        redirector.stop()
        api.stop()
    client = redis.Redis.from_url(redis_server.url)
    try:
        records = client.xrange(topic)
    finally:
        client.close()
    stored = sum(len(decode_clicks(fields[b"v"])[0]) for _, fields in records)
    assert stored == len(answered) > 0, (stored, len(answered))  # every click flushed
    assert exited_in < 16, exited_in
    assert set(answered) == {302}
    # KNOWN GAP (issue 9, open): a connection accepted in the instant of SIGTERM whose
    # request Sanic had not read yet is closed without an answer. Only that may
    # happen here; any other error (a 5xx, a reset mid-response) fails the test.
    assert all("disconnected without sending a response" in f for f in failures), failures
