"""SIGTERM under load: every request that reached the server is answered (a 302),
no buffered click is lost, the process exits within the documented time."""

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

STEADY = 12  # keep-alive clients sending back to back through the signal
BURST = 12  # keep-alive clients, idle at the signal, that all send the instant it is sent


def test_sigterm_under_load_answers_every_request_and_flushes_clicks(
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
        url = f"{redirector.base_url}/{code}"
        lock = threading.Lock()
        answered: list[int] = []
        closing = 0  # answers that told the client to go away (Connection: close)
        failures: list[str] = []
        stop = threading.Event()
        fire = threading.Event()
        ready = threading.Barrier(BURST + 1)

        def get(client: httpx.Client) -> bool:
            """One request; False once the server refuses connections."""
            nonlocal closing
            try:
                response = client.get(url)
            except httpx.ConnectError:
                return False  # refused: never reached the server, it had stopped listening
            except httpx.HTTPError as error:  # accepted, then closed or reset unanswered
                with lock:
                    failures.append(repr(error))
                return True
            with lock:
                answered.append(response.status_code)
                closing += response.headers.get("connection") == "close"
            return True

        def steady() -> None:
            with httpx.Client(timeout=10) as client:
                while not stop.is_set() and get(client):
                    pass

        def burst() -> None:
            with httpx.Client(timeout=10) as client:
                get(client)  # opens the keep-alive connection that then sits idle
                ready.wait(10)
                fire.wait(10)
                get(client)

        threads = [threading.Thread(target=steady) for _ in range(STEADY)]
        threads += [threading.Thread(target=burst) for _ in range(BURST)]
        for thread in threads:
            thread.start()
        ready.wait(10)
        time.sleep(1.5)
        assert redirector.process is not None
        started = time.monotonic()
        redirector.process.send_signal(signal.SIGTERM)
        fire.set()
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
    # Nothing that reached the server goes unanswered: not an idle keep-alive
    # connection sending in the instant of SIGTERM, not one accepted just then.
    assert failures == [], (len(failures), len(answered), failures[:5])
    assert set(answered) == {302}
    assert closing > 0  # the drain told keep-alive clients to move away
    assert stored == len(answered) > 0, (stored, len(answered))  # every click flushed
    assert exited_in < 16, exited_in
