"""A real Prometheus server (Debian's `prometheus` package) on loopback, scraping
given targets every 2 seconds and evaluating given rule files every second, with
its HTTP API wrapped for tests: instant queries, alerts, metric names.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.harness.ports import free_port
from tests.harness.processes import HarnessError, Managed, launch, stop_process

STARTUP_TIMEOUT = 30.0


class PromQLError(AssertionError):
    """Prometheus refused a query (parse or evaluation error)."""


class PrometheusServer(Managed):
    """``targets`` maps a scrape job name to its ``host:port`` targets (path /metrics).
    Rules are evaluated every second; targets scraped every ``interval`` (2 s: a 1 s
    timeout is missed now and then on a loaded 2-core machine, and the series go stale)."""

    def __init__(
        self,
        base_dir: Path,
        targets: Mapping[str, Sequence[str]],
        rule_files: Sequence[Path] = (),
        *,
        interval: str = "2s",
        port: int | None = None,
    ) -> None:
        self.base_dir = base_dir.absolute()
        self.targets = targets
        self.rule_files = [path.absolute() for path in rule_files]
        self.interval = interval
        self.port = port or free_port()
        self.log_path = self.base_dir / "prometheus.log"
        self.process: Any = None
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        return {
            "global": {
                "scrape_interval": self.interval,
                "scrape_timeout": self.interval,
                "evaluation_interval": "1s",
            },
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
                for job, hosts in self.targets.items()
            ],
        }

    def start(self) -> None:
        executable = shutil.which("prometheus")
        if executable is None:
            raise HarnessError("prometheus not found; install Debian's 'prometheus' package")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        command = [
            executable,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.base_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ]
        self.process = launch(
            command,
            log_path=self.log_path,
            ready=self._ready,
            what=f"prometheus on {self.port}",
            timeout=STARTUP_TIMEOUT,
            on_failure=self.stop,
        )

    def _ready(self) -> bool:
        try:
            return self.http.get("/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    # -- the HTTP API ------------------------------------------------------------------

    def _api(self, path: str, **params: str) -> Any:
        response = self.http.get(f"/api/v1/{path}", params=params)
        body = response.json()
        if body.get("status") != "success":
            raise PromQLError(f"{params or path}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (scalars come back as one sample)."""
        data = self._api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def metric_names(self) -> set[str]:
        return set(self._api("label/__name__/values"))

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts: pending and firing, with their labels and state."""
        alerts: list[dict[str, Any]] = self._api("alerts")["alerts"]
        return alerts

    def target_health(self) -> dict[str, str]:
        """``job/instance`` → "up", or why the last scrape failed ("" before the first)."""
        active = self._api("targets")["activeTargets"]
        return {
            f"{t['labels']['job']}/{t['labels']['instance']}": (
                "up" if t["health"] == "up" else t["lastError"]
            )
            for t in active
        }
