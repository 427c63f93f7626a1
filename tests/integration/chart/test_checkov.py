"""checkov (PyPI) over what the chart renders with each ci/*-values.yaml: every
finding left is one the chart README lists with its reason ("What checkov still
says"), and every one listed is still found (the list can't go stale)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.harness.chart import CHART, CI_VALUES, helm
from tests.harness.kube.binaries import REPO_ROOT

CHECKOV_VERSION = "3.3.30"
# Its own venv: checkov pins versions (packaging, among others) the project's venv must not take.
CHECKOV_VENV = REPO_ROOT / ".cache" / f"checkov-{CHECKOV_VERSION}"


def checkov() -> Path:
    executable = CHECKOV_VENV / "bin" / "checkov"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        pip = [str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, f"checkov=={CHECKOV_VERSION}"], check=True, timeout=900)
    return executable


def findings(rendered: Path) -> set[str]:
    """check id → kind of each failed check on one rendered manifest file."""
    ran = subprocess.run(
        [str(checkov()), "--file", str(rendered), "--framework", "kubernetes",
         "--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert ran.returncode in (0, 1), ran.stderr[-3000:]  # 1: some check failed
    reports = json.loads(ran.stdout) if ran.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    return {
        f"{failed['check_id']} {failed['resource'].split('.')[0]}"
        for report in reports
        for failed in report["results"]["failed_checks"]
    }


def justified() -> set[str]:
    """The README's table rows: | `CKV_…` | Kind, Kind | reason |."""
    text = (CHART / "README.md").read_text()
    section = text.split("## What checkov still says", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(CKV2?_K8S_\d+)` \| ([A-Za-z, ]+) \| .+ \|$", section, re.M)
    return {f"{check} {kind.strip()}" for check, kinds in rows for kind in kinds.split(",")}


def test_every_checkov_finding_is_fixed_or_justified(tmp_path: Path) -> None:
    found: dict[str, set[str]] = {}
    for values in CI_VALUES:
        rendered = tmp_path / values.name
        rendered.write_text(helm("template", "sl", str(CHART), "--namespace", "shortlink",
                                 "--values", str(values)))  # fmt: skip
        for finding in findings(rendered):
            found.setdefault(finding, set()).add(values.stem)
    listed = justified()
    assert {f: sorted(v) for f, v in found.items() if f not in listed} == {}
    assert listed - set(found) == set()  # a fixed finding leaves the list
    assert not any(f.startswith("CKV_K8S_35 Deployment") for f in found)  # secrets as files
