"""The shipped alerts are complete and consistent: names, labels, annotations,
runbooks, a promtool unit test each way, and generated files up to date."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from monitoring.__main__ import main as generate
from monitoring.dashboard import dashboard
from monitoring.rule_files import RUNBOOK_BASE
from tests.support.monitoring import MONITORING, RULE_TESTS, alerts

RUNBOOKS = MONITORING.parent / "docs" / "runbooks"
RUNBOOK_SECTIONS = ("## What it means", "## Impact", "## Diagnose", "## Mitigate")
NAMES = [alert["alert"] for alert in alerts()]


def test_alert_names_are_unique_and_stable() -> None:
    # The chart disables alerts by name: each must be unique.
    assert [name for name, count in Counter(NAMES).items() if count > 1] == []
    assert all(re.fullmatch(r"Shortlink[A-Z][A-Za-z]+", name) for name in NAMES), NAMES


@pytest.mark.parametrize("alert", alerts(), ids=NAMES)
def test_alert_has_severity_summary_numbers_and_runbook(alert: dict[str, object]) -> None:
    labels = alert["labels"]
    annotations = alert["annotations"]
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels["severity"] in {"critical", "warning", "none"}
    assert annotations["summary"] and annotations["description"]
    if alert["alert"] != "ShortlinkWatchdog":
        assert "$value" in annotations["description"], "the description gives the numbers"
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE}{alert['alert']}.md"


@pytest.mark.parametrize("name", NAMES)
def test_every_alert_has_a_runbook(name: str) -> None:
    runbook = RUNBOOKS / f"{name}.md"
    assert runbook.exists(), f"missing {runbook}"
    text = runbook.read_text()
    assert text.startswith(f"# {name}\n")
    for section in RUNBOOK_SECTIONS:
        assert section in text, f"{runbook.name}: no '{section}'"
    assert "```" in text, f"{runbook.name}: no commands to diagnose with"


def test_every_runbook_belongs_to_an_alert() -> None:
    assert sorted(p.stem for p in RUNBOOKS.glob("*.md") if p.stem != "README") == sorted(NAMES)


def test_every_alert_has_a_promtool_test_that_fires_and_one_that_stays_silent() -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    assert sorted(set(NAMES) - fires) == [], "alerts never shown to fire"
    assert sorted(set(NAMES) - silent - {"ShortlinkWatchdog"}) == [], "never shown silent"


def test_generated_files_are_up_to_date() -> None:
    assert generate(["--check"]) == 0, "run: python -m monitoring"


def test_dashboard_has_the_variables_and_every_panel_uses_them() -> None:
    board = dashboard()
    variables = [v["name"] for v in board["templating"]["list"]]
    assert variables == ["datasource", "namespace", "pod"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            # Component series are filtered by namespace (and pod where they have one).
            if "shortlink_postgres" not in expr and "shortlink_build_info" not in expr:
                assert '"$namespace"' in expr or "ALERTS" in expr, (panel["title"], expr)
    titles = " ".join(p["title"] for p in panels)
    for wanted in ("Firing alerts", "Error budget", "Burn rate", "tier", "heatmap", "Primary"):
        assert wanted in titles
