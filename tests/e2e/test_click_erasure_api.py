"""Erasing clicks over HTTP (issue 23, privacy), on the running system (API and
redirector, PostgreSQL, Redis, the chDB ingest loop): a link's clicks or whole UTC
days of the workspace's, by its admins and owners only, each erasure in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import API_KEY, embedded_analytics, start_stack
from tests.support.waiting import wait_for

System = tuple[ServiceProcess, ServiceProcess]


@pytest.fixture(scope="module")
def system(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path_factory.mktemp("erasure-logs"),
        **embedded_analytics(tmp_path_factory.mktemp("erasure-chdb"), "erasure"),
    )
    yield api, redirector
    redirector.stop()
    api.stop()


def _client(system: System, key: str) -> httpx.Client:
    return httpx.Client(base_url=system[0].base_url, timeout=30,
                        headers={"Authorization": f"Bearer {key}"})  # fmt: skip


def _mint(system: System, workspace: str, role: str) -> str:
    with _client(system, API_KEY) as admin:
        answer = admin.post("/v1/api-keys", json={"name": f"{workspace}-{role}",
                                                  "owner": workspace, "role": role})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


def _clicks(api: httpx.Client, path: str) -> int:
    answer = api.get(path)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["totals"]["clicks"])


@pytest.fixture(scope="module")
def keys(system: System) -> dict[str, str]:
    """Workspace er-a: er-one (3 clicks), er-two (2); workspace er-b: er-b (1)."""
    keys = {role: _mint(system, "er-a", role) for role in ("admin", "editor")}
    keys["b"] = _mint(system, "er-b", "owner")
    for key, alias in (("admin", "er-one"), ("admin", "er-two"), ("b", "er-b")):
        with _client(system, keys[key]) as api:
            created = api.post("/v1/urls", json={"original_url": "https://example.com/",
                                                 "custom_alias": alias})  # fmt: skip
            assert created.status_code == 201, created.text
    with httpx.Client(base_url=system[1].base_url, timeout=10) as visitor:
        for code in ["er-one"] * 3 + ["er-two"] * 2 + ["er-b"]:
            assert visitor.get(f"/{code}", headers={"User-Agent": "Mozilla/5.0"}).status_code == 302
    with _client(system, keys["admin"]) as a, _client(system, keys["b"]) as b:
        wait_for("the clicks stored", lambda: _clicks(a, "/v1/stats") == 5
                 and _clicks(b, "/v1/stats") == 1)  # fmt: skip
    return keys


def test_only_admins_and_owners_erase_and_a_refusal_is_logged(
    system: System, keys: dict[str, str]
) -> None:
    with _client(system, keys["editor"]) as editor:
        refused = editor.delete("/v1/urls/er-one/clicks")
        assert refused.status_code == 403, refused.text
        assert _clicks(editor, "/v1/urls/er-one/stats") == 3
    with _client(system, keys["admin"]) as admin:
        log = admin.get("/v1/workspace/audit", params={"action": "erase_url_clicks"}).json()
        assert [entry["outcome"] for entry in log["items"]] == ["denied"]


def test_a_bad_range_or_another_workspaces_link_is_refused(
    system: System, keys: dict[str, str]
) -> None:
    with _client(system, keys["admin"]) as admin:
        bad = ({"from": "2026-01-01T05:00:00Z"}, {"to": "1969-12-31"},
               {"from": "2026-01-02", "to": "2026-01-01"}, {"from": "x" * 1000},
               {"to": ""})  # fmt: skip
        for params in bad:
            answer = admin.delete("/v1/urls/er-one/clicks", params=params)
            assert answer.status_code == 400, (params, answer.text)
            assert answer.json()["error"] == "INVALID_REQUEST"
        assert admin.delete("/v1/urls/er-b/clicks").status_code == 404
        assert admin.delete("/v1/workspace/clicks", params={"to": "today"}).status_code == 400
    with _client(system, keys["b"]) as b:
        assert _clicks(b, "/v1/urls/er-b/stats") == 1


def test_a_links_clicks_then_the_workspaces_days_are_erased_and_audited(
    system: System, keys: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()
    with _client(system, keys["admin"]) as admin:
        erased = admin.delete("/v1/urls/er-one/clicks")
        assert erased.status_code == 204, erased.text
        assert _clicks(admin, "/v1/urls/er-one/stats") == 0
        assert _clicks(admin, "/v1/urls/er-two/stats") == 2
        days = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
        erased = admin.delete("/v1/workspace/clicks", params=days)
        assert erased.status_code == 204, erased.text
        assert _clicks(admin, "/v1/stats") == 0
        log = admin.get("/v1/workspace/audit", params={"action": "clicks.erase"}).json()
        entries = [(e["target_type"], e["target"], e["outcome"], e["after"])
                   for e in log["items"]]  # fmt: skip
        assert entries == [
            ("workspace", "er-a", "ok", {"from": days["from"], "to": days["to"], "links": 2}),
            ("link", "er-one", "ok", {"from": None, "to": None, "links": 1}),
        ]
    with _client(system, keys["b"]) as b:
        assert _clicks(b, "/v1/stats") == 1  # another workspace's clicks stay


def test_owners_set_the_click_retention_and_the_change_is_audited(
    system: System, keys: dict[str, str]
) -> None:
    with _client(system, keys["admin"]) as admin:
        refused = admin.patch("/v1/workspace", json={"click_retention_days": 30})
        assert refused.status_code == 403, refused.text
        assert admin.get("/v1/workspace").json()["click_retention_days"] == 0
    with _client(system, keys["b"]) as owner:
        for bad in (-1, 36_601, 1.5, "30"):
            answer = owner.patch("/v1/workspace", json={"click_retention_days": bad})
            assert answer.status_code == 400, answer.text
        changed = owner.patch("/v1/workspace", json={"click_retention_days": 30})
        assert changed.status_code == 200, changed.text
        assert changed.json()["click_retention_days"] == 30
        log = owner.get("/v1/workspace/audit", params={"target_type": "workspace"}).json()
        latest = log["items"][0]
        assert (latest["action"], latest["before"], latest["after"]) == (
            "workspace.update",
            {"click_retention_days": 0},
            {"click_retention_days": 30},
        )
