"""Every generated file under monitoring/, and how to render it."""

from __future__ import annotations

from collections.abc import Callable

from monitoring import dashboard, slos
from monitoring.rule_files import render

FILES: dict[str, Callable[[], str]] = {
    "rules/slo-recording.yaml": lambda: render(slos.recording_rules(), "slos.py"),
    "rules/slo-alerts.yaml": lambda: render(slos.alerting_rules(), "slos.py"),
    "dashboards/shortlink.json": dashboard.render,
}
