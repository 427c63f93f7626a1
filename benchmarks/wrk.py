"""Run wrk and turn its text report into numbers.

``parse_wrk_output`` is pure (text in, ``WrkResult`` out) so it can be unit
tested against captured wrk reports without running anything.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.host import log, pinned

# wrk prints latencies with the unit it picked for readability.
_TIME_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}

_REQUESTS_PER_SEC = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTALS = re.compile(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX_3XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
# Lines our Lua scripts print from done(): "bench: key=value".
_BENCH_FIELD = re.compile(r"^bench: (\w+)=(\S+)$", re.MULTILINE)


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    rps: float
    requests: int
    duration_s: float
    percentiles_ms: dict[float, float]
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    script_fields: dict[str, str] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return self.percentiles_ms[50.0]

    @property
    def p99_ms(self) -> float:
        return self.percentiles_ms[99.0]

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


def to_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNIT_MS[unit]


def parse_wrk_output(text: str) -> WrkResult:
    """Parse a ``wrk --latency`` report; raise WrkError if a required part is missing."""
    rps_match = _REQUESTS_PER_SEC.search(text)
    totals_match = _TOTALS.search(text)
    percentiles = {float(p): to_ms(v, u) for p, v, u in _PERCENTILE.findall(text)}
    if rps_match is None or totals_match is None:
        raise WrkError(f"no Requests/sec or totals line in wrk output:\n{text}")
    if 50.0 not in percentiles or 99.0 not in percentiles:
        raise WrkError(f"no latency distribution (was --latency given?) in wrk output:\n{text}")

    socket_errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    if errors_match := _SOCKET_ERRORS.search(text):
        socket_errors = dict(zip(socket_errors, map(int, errors_match.groups()), strict=True))
    non_2xx_match = _NON_2XX_3XX.search(text)
    requests, duration_value, duration_unit = totals_match.groups()
    return WrkResult(
        rps=float(rps_match.group(1)),
        requests=int(requests),
        duration_s=to_ms(duration_value, duration_unit) / 1000.0,
        percentiles_ms=percentiles,
        socket_errors=socket_errors,
        non_2xx_3xx=int(non_2xx_match.group(1)) if non_2xx_match else 0,
        script_fields=dict(_BENCH_FIELD.findall(text)),
    )


def run_wrk(
    url: str,
    *,
    duration_s: float,
    connections: int,
    script: Path | None = None,
    client_cpus: str | None = None,
    warmup_s: float = 0.0,
) -> WrkResult:
    """One bounded wrk run (one thread) against ``url``, after an unrecorded warm-up if asked.

    The warm-up lets a fresh server open its pools and fill its caches, so the
    measured run is not mostly start-up on short durations.
    """
    if warmup_s > 0:
        run_wrk(
            url,
            duration_s=warmup_s,
            connections=connections,
            script=script,
            client_cpus=client_cpus,
        )
    # wrk's -d takes whole seconds; a hard timeout guards against a hung target.
    seconds = max(1, round(duration_s))
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    log(f"  $ {' '.join(command)}")
    completed = subprocess.run(
        pinned(command, client_cpus),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise WrkError(f"wrk exited {completed.returncode}: {completed.stderr}{completed.stdout}")
    if completed.stderr.strip():
        log(completed.stderr.strip())
    return parse_wrk_output(completed.stdout)
