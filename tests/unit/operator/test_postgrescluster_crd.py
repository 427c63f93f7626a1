"""crds/postgrescluster.yaml: names, columns, defaults and a description on every field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from shortlink.domain import failover
from tests.unit.operator.test_crd import version, walk

CRD_PATH = Path(__file__).resolve().parents[3] / "crds" / "postgrescluster.yaml"


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return document


def spec_properties(crd: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "properties"
    ]
    return properties


def test_names(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "postgresclusters.shortlink.io"
    assert (spec["group"], spec["scope"]) == ("shortlink.io", "Namespaced")
    assert spec["names"]["kind"] == "PostgresCluster"
    assert spec["names"]["plural"] == "postgresclusters"
    assert spec["names"]["shortNames"] == ["pgc"]
    assert version(crd)["name"] == "v1alpha1"
    assert version(crd)["subresources"] == {"status": {}}


def test_printer_columns(crd: dict[str, Any]) -> None:
    columns = {c["name"]: c["jsonPath"] for c in version(crd)["additionalPrinterColumns"]}
    assert list(columns) == ["Primary", "Phase", "Ready", "Age"]
    assert columns["Primary"] == ".status.currentPrimary"
    assert columns["Phase"] == ".status.phase"


def test_every_field_has_a_description_for_kubectl_explain(crd: dict[str, Any]) -> None:
    schema = version(crd)["schema"]["openAPIV3Schema"]
    missing = [
        path for path, node in walk(schema) if path != ".metadata" and not node.get("description")
    ]
    assert missing == []


def test_defaults_match_the_domain(crd: dict[str, Any]) -> None:
    spec = spec_properties(crd)
    defaults = failover.ClusterSpec.__dataclass_fields__
    assert spec["failoverDelay"]["default"] == defaults["failover_delay"].default == 10
    assert spec["probeInterval"]["default"] == defaults["probe_interval"].default
    assert spec["probeTimeout"]["default"] == defaults["probe_timeout"].default
    assert spec["maxLagOnFailover"]["default"] == defaults["max_lag"].default == 1024 * 1024
    assert spec["durability"]["default"] == defaults["durability"].default == "required"
    assert sorted(spec["durability"]["enum"]) == ["preferred", "required"]


def test_phases_match_the_domain(crd: dict[str, Any]) -> None:
    status = version(crd)["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert sorted(status["phase"]["enum"]) == sorted(failover.PHASES)


def test_cel_rules_cover_names_switchover_and_timings(crd: dict[str, Any]) -> None:
    rules = version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"][
        "x-kubernetes-validations"
    ]
    text = " ".join(rule["rule"] for rule in rules)
    assert "exists_one(n, n.name == m.name)" in text
    assert "self.switchover.to" in text
    assert "self.probeInterval <= self.failoverDelay" in text
    assert all(rule.get("message") for rule in rules)
