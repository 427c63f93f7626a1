"""Issue 24: the chart gives the redirectors a read DSN of standbys (DATABASE_READ_URL,
a secret like DATABASE_URL) and its staleness bound (SHORTLINK_READ_MAX_LAG)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.chart import CHART, HelmError, Manifest, find, one, render

READ_URL = "postgresql://shortlink:pw@standbys.db:5432/shortlink"
SECRETS_DIR = "/run/secrets/shortlink"


def _containers(manifests: list[Manifest], component: str) -> list[dict[str, Any]]:
    deployment = one(manifests, "Deployment", f"sl-shortlink-{component}")
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return containers


def _env(manifests: list[Manifest], component: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in _containers(manifests, component)[0].get("env", [])}


def _secret_items(manifests: list[Manifest], component: str) -> list[dict[str, Any]]:
    deployment = one(manifests, "Deployment", f"sl-shortlink-{component}")
    volumes = deployment["spec"]["template"]["spec"].get("volumes", [])
    secrets = next((v for v in volumes if v["name"] == "secrets"), {"projected": {"sources": []}})
    return [s["secret"] for s in secrets["projected"]["sources"]]


def test_without_a_read_url_every_read_goes_to_the_primary() -> None:
    manifests = render()
    assert not any("DATABASE_READ_URL" in name for name in _env(manifests, "redirector"))
    assert "DATABASE_READ_URL" not in one(manifests, "Secret", "sl-shortlink")["data"]
    config = one(manifests, "ConfigMap", "sl-shortlink")["data"]
    assert config["SHORTLINK_READ_MAX_LAG"] == "5"


def test_a_read_url_is_a_secret_file_of_the_redirector_only() -> None:
    manifests = render(set_values={"databaseRead.url": READ_URL, "databaseRead.maxLag": "2"})
    secret = one(manifests, "Secret", "sl-shortlink")["data"]
    assert "DATABASE_READ_URL" in secret  # base64 in the chart's Secret, not the ConfigMap
    config = one(manifests, "ConfigMap", "sl-shortlink")["data"]
    assert READ_URL not in str(config) and config["SHORTLINK_READ_MAX_LAG"] == "2"
    env = _env(manifests, "redirector")
    assert env["DATABASE_READ_URL_FILE"]["value"] == f"{SECRETS_DIR}/DATABASE_READ_URL"
    assert {
        "name": "sl-shortlink",
        "items": [{"key": "DATABASE_READ_URL", "path": "DATABASE_READ_URL"}],
    } in _secret_items(manifests, "redirector")
    for component in ("api", "operator"):
        assert not any("DATABASE_READ_URL" in name for name in _env(manifests, component))


def test_an_existing_secret_is_referenced_by_its_key() -> None:
    manifests = render(
        set_values={
            "secretsAsFiles": "false",
            "databaseRead.existingSecret": "standbys",
            "databaseRead.existingSecretKey": "dsn",
        }
    )
    env = _env(manifests, "redirector")
    reference = env["DATABASE_READ_URL"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": "standbys", "key": "dsn"}
    chart_secret = find(manifests, "Secret")
    assert all("DATABASE_READ_URL" not in s.get("data", {}) for s in chart_secret)


@pytest.mark.parametrize("lag", ["11", "0"])
def test_the_schema_refuses_a_lag_settings_would_refuse(lag: str) -> None:
    with pytest.raises(HelmError, match="maxLag"):
        render(set_values={"databaseRead.url": READ_URL, "databaseRead.maxLag": lag})


def test_the_values_table_documents_the_redis_url_forms() -> None:
    readme = (CHART / "README.md").read_text()
    redis_row = next(line for line in readme.splitlines() if line.startswith("| `redis.url` |"))
    assert "redis+sentinel://" in redis_row and "redis+cluster://" in redis_row
