"""benchmarks.open_loop: the fixed schedule, and a server stall charged to every request
due during it (what a closed loop like wrk leaves out), against a loopback HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.fixtures import split_by_weight
from benchmarks.open_loop import PlannedRequest, intended_starts, open_loop
from benchmarks.sequential import percentile

STALL_S = 0.3


class _Answers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk and the open loop use

    def do_GET(self) -> None:
        if self.path == "/stall":
            time.sleep(STALL_S)
        self.send_response(500 if self.path == "/broken" else 302)
        self.send_header("Location", "https://example.com/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_requests_are_due_on_a_fixed_schedule() -> None:
    assert intended_starts(4, 200.0, 10.0) == [10.0, 10.005, 10.01, 10.015]
    with pytest.raises(ValueError, match="rate must be positive"):
        intended_starts(1, 0.0, 10.0)


def test_a_stall_is_charged_to_the_requests_due_during_it(server_url: str) -> None:
    # 40 requests every 5 ms over one connection, the first stalling 300 ms: the next
    # ones were due during the stall and wait it out. A closed loop would record one slow
    # sample and 39 fast ones (a p50 of about 1 ms).
    requests = [PlannedRequest("GET", "/stall", 302)] + [
        PlannedRequest("GET", "/fast", 302) for _ in range(39)
    ]
    run = open_loop(server_url, requests, 200.0, connections=1)
    assert run.failures == []
    assert len(run.latencies_ms) == 40
    assert max(run.latencies_ms) >= STALL_S * 1000
    # Request i (due at 5i ms) waits until ~300 ms: the median one ~200 ms.
    assert percentile(run.latencies_ms, 50) >= 100
    assert run.fields("x_")["x_requests"] == 40


def test_an_unexpected_status_is_a_failure(server_url: str) -> None:
    requests = [PlannedRequest("GET", "/fast", 302), PlannedRequest("GET", "/broken", 302)]
    run = open_loop(server_url, requests, 100.0, connections=2)
    assert run.failures == ["GET /broken: 500"]
    assert run.fields("open_loop_")["open_loop_errors"] == 1


def test_codes_are_split_by_weight_without_overlap() -> None:
    items = [str(index) for index in range(100)]
    first, second, third = split_by_weight(items, (1.0, 2.0, 1.0))
    assert (len(first), len(second), len(third)) == (25, 50, 25)
    assert first + second + third == items
