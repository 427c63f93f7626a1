"""The benchmark's wrk report parser (pure: text in, figures out)."""

import pytest

from benchmarks.wrk import WrkError, parse_wrk_output

LOADED = """Running 10s test @ http://127.0.0.1:8081/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.50ms  412.00us  12.00ms   90.00%
    Req/Sec    18.40k   500.00    19.00k    70.00%
  Latency Distribution
     50%  850.00us
     75%    3.70ms
     90%    3.85ms
     99%    1.20s
  183924 requests in 10.00s, 15.26MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 9
Requests/sec:  18392.40
Transfer/sec:      1.53MB
bench: unique=4777
bench: exhausted=false
"""


def test_parses_rates_units_errors_and_script_fields() -> None:
    result = parse_wrk_output(LOADED)

    assert result.rps == 18392.40
    assert (result.requests, result.duration_s) == (183924, 10.0)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == 1200.0
    assert result.percentiles_ms[75.0] == 3.70
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 5}
    assert result.errors == 7
    assert result.non_2xx_3xx == 9
    assert result.script_fields == {"unique": "4777", "exhausted": "false"}


def test_clean_run_has_no_errors() -> None:
    clean = LOADED.replace("  Socket errors: connect 0, read 2, write 0, timeout 5\n", "")
    clean = clean.replace("  Non-2xx or 3xx responses: 9\n", "")
    result = parse_wrk_output(clean)
    assert result.errors == 0 and result.non_2xx_3xx == 0


@pytest.mark.parametrize(
    "broken",
    [
        "unable to connect to 127.0.0.1:1 Connection refused",
        LOADED.replace("Requests/sec:  18392.40\n", ""),
        LOADED.replace("     99%    1.20s\n", ""),  # run without --latency
    ],
)
def test_incomplete_reports_are_refused(broken: str) -> None:
    with pytest.raises(WrkError):
        parse_wrk_output(broken)
