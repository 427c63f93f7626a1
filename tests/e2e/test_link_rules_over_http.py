# ruff: noqa: E501  (cases read best one a line)
"""Issue 22 over HTTP: links with rules, variants, limits, schedules, UTM and tags are
created, refused, edited and listed by the real API and served by the real redirector
(behind one trusted proxy, so X-Forwarded-For picks the GeoIP country)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ApiClient
from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import start_stack
from tests.support.waiting import wait_for

LONDON, NEW_YORK, FALKENSTEIN = "81.2.69.142", "2.16.0.1", "5.9.0.1"  # GB, US, DE
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


@pytest.fixture(scope="module")
def rules_stack(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path_factory.mktemp("rules-logs"),
        SHORTLINK_PROXIES_COUNT="1",
        SHORTLINK_RATE_LIMIT="100000/minute",
        SHORTLINK_BLOCKED_DOMAINS="malware.test",
    )
    yield api, redirector
    redirector.stop()
    api.stop()


@pytest.fixture(scope="module")
def api(rules_stack: tuple[ServiceProcess, ServiceProcess]) -> ApiClient:
    base = rules_stack[0].base_url
    return ApiClient(base, httpx.get(f"{base}/v1/openapi.json").json())


@pytest.fixture(scope="module")
def edge(rules_stack: tuple[ServiceProcess, ServiceProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rules_stack[1].base_url, timeout=10) as client:
        yield client


def create(api: ApiClient, **body: Any) -> dict[str, Any]:
    response = api.call("POST", "/v1/urls", json={"original_url": "https://example.com/", **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def visit(edge: httpx.Client, code: str, ip: str = "", **headers: str) -> httpx.Response:
    sent = {"X-Forwarded-For": ip} if ip else {}
    return edge.get(f"/{code}", headers={**sent, **headers})


RULES = [
    {"id": "gb", "conditions": {"country": ["GB"]}, "action": {"target": "https://uk.example/"}},
    {"id": "iphone", "conditions": {"os": ["ios"]}, "action": {"target": "https://app.example/", "redirect_type": 307}},
    {"id": "german", "conditions": {"language": ["de"]}, "action": {"target": "https://de.example/"}},
    {"id": "split", "conditions": {"browser": ["firefox"]}, "action": {"variants": [
        {"id": "a", "target": "https://a.example/", "weight": 1},
        {"id": "b", "target": "https://b.example/", "weight": 1}]}},
]  # fmt: skip


def test_rules_are_evaluated_at_the_edge_first_match_wins(api: ApiClient, edge: httpx.Client):
    link = create(api, rules=RULES, utm={"source": "e2e"}, tags=["Launch"], folder="e2e/rules")
    assert link["rules"][1]["action"]["redirect_type"] == 307 and link["tags"] == ["launch"]
    code = link["short_code"]

    london = visit(edge, code, LONDON, **{"User-Agent": IPHONE})
    assert london.status_code == 302
    assert london.headers["location"] == "https://uk.example/?utm_source=e2e"
    assert london.headers["cache-control"] == "private, no-store"
    iphone = visit(edge, code, NEW_YORK, **{"User-Agent": IPHONE})
    assert iphone.status_code == 307 and iphone.headers["location"].startswith("https://app.")
    german = visit(edge, code, FALKENSTEIN, **{"Accept-Language": "de-DE, en;q=0.5"})
    assert german.headers["location"].startswith("https://de.example/")
    english = visit(edge, code, FALKENSTEIN, **{"Accept-Language": "en, de;q=0.9"})
    assert english.headers["location"] == "https://example.com/?utm_source=e2e"

    seen = {
        visit(edge, code, f"198.51.{n}.7", **{"User-Agent": FIREFOX}).headers["location"]
        for n in range(40)
    }
    assert seen == {"https://a.example/?utm_source=e2e", "https://b.example/?utm_source=e2e"}
    again = {
        visit(edge, code, "198.51.3.200", **{"User-Agent": FIREFOX}).headers["location"]
        for _ in range(5)
    }
    assert len(again) == 1  # sticky: the same /24 and browser keep one variant


def test_click_limit_then_fallback_and_previews_spend_nothing(api: ApiClient, edge: httpx.Client):
    link = create(api, max_clicks=3, fallbacks={"exhausted": "https://sold-out.example/"})
    code = link["short_code"]
    for _ in range(5):
        assert edge.head(f"/{code}").status_code == 302  # HEAD spends nothing
        assert visit(edge, code, **{"User-Agent": "Slackbot-LinkExpanding 1.0"}).status_code == 302
    served = [visit(edge, code, **{"User-Agent": FIREFOX}).headers["location"] for _ in range(5)]
    assert served == ["https://example.com/"] * 3 + ["https://sold-out.example/"] * 2

    bare = create(api, max_clicks=1)["short_code"]
    assert visit(edge, bare, **{"User-Agent": FIREFOX}).status_code == 302
    gone = visit(edge, bare, **{"User-Agent": FIREFOX})
    assert gone.status_code == 410 and gone.json()["error"] == "CLICK_LIMIT_REACHED"


def test_schedule_and_query_pass_through(api: ApiClient, edge: httpx.Client):
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = create(api, valid_from=soon, fallbacks={"not_yet": "https://soon.example/"})
    assert visit(edge, later["short_code"]).headers["location"] == "https://soon.example/"
    hidden = create(api, valid_from=soon)
    assert visit(edge, hidden["short_code"]).status_code == 404

    passing = create(api, original_url="https://example.com/p?id=1", pass_query=True,
                     utm={"source": "nl"})  # fmt: skip
    response = edge.get(f"/{passing['short_code']}?utm_source=spam&ref=x&id=2")
    assert response.headers["location"] == "https://example.com/p?id=1&utm_source=nl&ref=x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rules": [RULES[0], RULES[1], {"conditions": {"country": ["UK"]}, "action": {"target": "https://x.example/"}}]}, "rules[2].conditions.country[0]"),
        ({"variants": [{"target": "https://a.example/", "weight": 0}, {"target": "https://b.example/", "weight": 1}]}, "variants[0].weight"),
        ({"rules": [{"conditions": {"time": {"time_zone": "Europe/Atlantis", "from": "2026-01-01T00:00:00Z"}}, "action": {"target": "https://x.example/"}}]}, "rules[0].conditions.time.time_zone"),
        ({"rules": [{"conditions": {"time": {"windows": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]}}, "action": {"target": "https://x.example/"}}]}, "rules[0].conditions.time.windows[1]"),
        ({"rules": [{"conditions": {"time": {"windows": [{"start": "12:00", "end": "12:00"}]}}, "action": {"target": "https://x.example/"}}]}, "rules[0].conditions.time.windows[0]"),
        ({"fallbacks": {"expired": "https://malware.test/"}}, "fallbacks.expired"),
        ({"rules": [{"conditions": {"device": ["mobile"]}, "action": {"target": "https://evil.malware.test/"}}]}, "rules[0].action.target"),
        ({"rules": [RULES[0]] * 51}, "rules"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    api: ApiClient, edge: httpx.Client, body: dict[str, Any], field: str
):
    alias = f"bad-{abs(hash(field)) % 10**8}"
    response = api.call(
        "POST",
        "/v1/urls",
        json={"original_url": "https://example.com/", "custom_alias": alias, **body},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "INVALID_LINK_OPTION" and response.json()["field"] == field
    assert visit(edge, alias).status_code == 404  # nothing half-written
    bulk = api.call(
        "POST",
        "/v1/urls/bulk",
        json={
            "urls": [
                {"original_url": "https://example.com/ok"},
                {"original_url": "https://example.com/", **body},
            ]
        },
    )
    assert bulk.status_code == 400
    assert bulk.json()["invalid_urls"][0]["field"] == f"urls[1].{field}"


def test_patch_replaces_options_and_redirectors_follow(api: ApiClient, edge: httpx.Client):
    link = create(api, tags=["a"], rules=[RULES[0]])
    code = link["short_code"]
    assert visit(edge, code, LONDON).headers["location"] == "https://uk.example/"
    patched = api.call(
        "PATCH", "/v1/urls/{code}", path={"code": code}, json={"rules": None, "tags": ["b", "c"]}
    )
    assert patched.status_code == 200 and patched.json()["rules"] == []
    assert patched.json()["tags"] == ["b", "c"]
    wait_for(
        "the edit at the edge",
        lambda: visit(edge, code, LONDON).headers["location"] == "https://example.com/",
        timeout=5,
    )
    refused = api.call(
        "PATCH",
        "/v1/urls/{code}",
        path={"code": code},
        json={"variants": [{"target": "https://a.example/", "weight": 1}]},
    )
    assert refused.status_code == 400 and refused.json()["field"] == "variants"
    assert api.call("GET", "/v1/urls/{code}", path={"code": code}).json()["tags"] == ["b", "c"]


def test_list_filters_by_tag_and_folder(api: ApiClient):
    first = create(api, tags=["listed", "x"], folder="team/q3")["short_code"]
    second = create(api, tags=["listed"], folder="team")["short_code"]
    create(api, folder="other")

    def codes(**query: str) -> set[str]:
        response = api.call("GET", "/v1/urls", params={"limit": "100", **query})
        assert response.status_code == 200, response.text
        return {link["short_code"] for link in response.json()["items"]}

    assert codes(tag="LISTED") >= {first, second} and second not in codes(tag="x")
    assert codes(folder="team") == {first, second}
    assert codes(folder="team/q3") == {first}


def test_preview_answers_what_the_edge_would(api: ApiClient, edge: httpx.Client):
    link = create(api, rules=RULES, utm={"source": "e2e"})
    code = link["short_code"]

    def preview(**visitor: Any) -> dict[str, Any]:
        response = api.call("POST", "/v1/urls/{code}/preview", path={"code": code}, json=visitor)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    assert preview(country="GB")["location"] == "https://uk.example/?utm_source=e2e"
    assert preview(os="ios") == {
        "outcome": "redirect",
        "location": "https://app.example/?utm_source=e2e",
        "redirect_type": 307,
        "rule_id": "iphone",
        "variant_id": "",
    }
    assert preview(accept_language="de-AT,en;q=0.5")["rule_id"] == "german"
    assert preview()["location"] == "https://example.com/?utm_source=e2e"
    # The variant a real visitor gets is the one the preview names for their network and browser.
    for n in range(6):
        ip = f"198.51.{n}.7"
        served = visit(edge, code, ip, **{"User-Agent": FIREFOX}).headers["location"]
        assert preview(browser="firefox", ip=ip, user_agent=FIREFOX)["location"] == served
    bad = api.call("POST", "/v1/urls/{code}/preview", path={"code": code}, json={"country": "UK"})
    assert bad.status_code == 400 and bad.json()["field"] == "country"
