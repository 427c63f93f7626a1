"""What every scenario gets: the running stack, the settings, the references."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.config import RunSettings
from benchmarks.references import References
from benchmarks.stack import Stack
from benchmarks.wrk import WrkResult, run_wrk


@dataclass(frozen=True)
class ScenarioContext:
    stack: Stack
    settings: RunSettings
    references: References
    work_dir: Path
    # Unique per run, so created URLs never collide with an earlier run's.
    run_id: str
    # CPU use of the whole machine just before the run, from other processes.
    host_busy_percent: float | None = None

    def api_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.stack.api_url, headers=self.stack.auth_headers, timeout=60.0
        )

    def scratch_dir(self, name: str) -> Path:
        directory = self.work_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def wrk(
        self,
        url: str,
        script: Path,
        *,
        connections: int,
        duration_s: float,
        warmup_s: float = 0.0,
    ) -> WrkResult:
        return run_wrk(
            url,
            duration_s=duration_s,
            connections=connections,
            script=script,
            client_cpus=self.settings.cpus.client_cpus,
            warmup_s=warmup_s,
        )


def new_run_id() -> str:
    return secrets.token_hex(4)
