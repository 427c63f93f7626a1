"""crds/shortlink.yaml agrees with the domain's rules and documents every field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from shortlink.domain import aliases, urls
from shortlink.domain.links import REDIRECT_TYPES

CRD_PATH = Path(__file__).resolve().parents[3] / "crds" / "shortlink.yaml"


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return document


def version(crd: dict[str, Any]) -> dict[str, Any]:
    [only] = crd["spec"]["versions"]
    result: dict[str, Any] = only
    return result


def test_names(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "shortlinks.shortlink.io"
    assert (spec["group"], spec["scope"]) == ("shortlink.io", "Namespaced")
    assert spec["names"]["kind"] == "ShortLink"
    assert "sl" in spec["names"]["shortNames"]
    assert version(crd)["name"] == "v1alpha1"
    assert version(crd)["subresources"] == {"status": {}}


def test_printer_columns(crd: dict[str, Any]) -> None:
    names = [c["name"] for c in version(crd)["additionalPrinterColumns"]]
    assert names == ["Code", "Target", "Ready", "Expires", "Age"]


def walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        found += walk(child, f"{path}.{name}")
    if "items" in schema:
        found += walk(schema["items"], f"{path}[]")
    return found


def test_every_field_has_a_description_for_kubectl_explain(crd: dict[str, Any]) -> None:
    schema = version(crd)["schema"]["openAPIV3Schema"]
    missing = [
        path for path, node in walk(schema) if path != ".metadata" and not node.get("description")
    ]
    assert missing == []


def test_code_rules_match_the_domain_alias_rules(crd: dict[str, Any]) -> None:
    code = version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["code"]
    assert (code["minLength"], code["maxLength"]) == (aliases.MIN_LENGTH, aliases.MAX_LENGTH)
    pattern = re.compile(code["pattern"])
    for candidate in ["promo", "a-b_c", "ABC123", "a b", "a/b", "ä-b", "x.y"]:
        assert bool(pattern.fullmatch(candidate)) == bool(
            aliases.ALIAS_PATTERN.fullmatch(candidate)
        ), candidate


def test_target_rules_are_a_loose_front_of_the_domain_check(crd: dict[str, Any]) -> None:
    """The schema rejects obvious garbage at apply time; everything it accepts still
    goes through validate_target_url, and nothing valid is rejected by it."""
    spec = version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    target = spec["target"]
    assert target["maxLength"] == urls.MAX_URL_LENGTH
    pattern = re.compile(target["pattern"])
    policy = urls.UrlPolicy()
    for valid in ["https://example.com", "HTTP://e.com/a?b#c", "https://[::1]:8080/x"]:
        urls.validate_target_url(valid, policy)
        assert pattern.search(valid), valid
    for invalid in ["ftp://e.com", "https://", "https://e.com/a b", "javascript:alert(1)"]:
        assert not pattern.search(invalid), invalid
    assert sorted(spec["redirectType"]["enum"]) == sorted(REDIRECT_TYPES)
    assert spec["redirectType"]["default"] == 302


def test_code_is_immutable_by_cel(crd: dict[str, Any]) -> None:
    schema = version(crd)["schema"]["openAPIV3Schema"]
    spec_rules = [r["rule"] for r in schema["properties"]["spec"]["x-kubernetes-validations"]]
    assert any("oldSelf.code" in rule for rule in spec_rules)
    root_rules = [r["rule"] for r in schema["x-kubernetes-validations"]]
    assert any("self.status.code" in rule for rule in root_rules)


def test_status_fields(crd: dict[str, Any]) -> None:
    status = version(crd)["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert {"shortUrl", "conditions", "observedGeneration", "code"} <= set(status)
    condition = status["conditions"]["items"]["properties"]
    assert {"type", "status", "reason", "message", "observedGeneration", "lastTransitionTime"} <= (
        set(condition)
    )
