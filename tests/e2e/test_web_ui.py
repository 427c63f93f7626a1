"""The web UI in a real browser: Debian's chromium driven by Playwright, against
the running system (real API and redirector processes, PostgreSQL, Redis, the
chDB ingest loop). Each page is checked by axe-core, in light and dark mode, and
screenshotted at desktop and phone width into test-artifacts/ui/.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import zxingcpp
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright

from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.ports import free_port
from tests.harness.stack import API_KEY, embedded_analytics, start_stack
from tests.support.waiting import wait_for

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("SHORTLINK_TEST_ARTIFACTS", "test-artifacts")) / "ui"
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IN_GB, IN_US = "81.2.69.142", "8.8.8.8"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def system(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    api, redirector, _ = start_stack(
        postgres_server,
        redis_server,
        tmp_path_factory.mktemp("ui-logs"),
        SHORTLINK_PROXIES_COUNT="1",  # the test plays the trusted proxy for GeoIP
        **embedded_analytics(tmp_path_factory.mktemp("ui-chdb"), "ui"),
    )
    yield api, redirector
    redirector.stop()
    api.stop()


@pytest.fixture(scope="module")
def rest(system: tuple[ServiceProcess, ServiceProcess]) -> Iterator[httpx.Client]:
    """The API as a Bearer client, to check what the UI did."""
    with httpx.Client(base_url=system[0].base_url, timeout=10,
                      headers={"Authorization": f"Bearer {API_KEY}"}) as client:  # fmt: skip
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(system: tuple[ServiceProcess, ServiceProcess], browser: Browser) -> Iterator[Page]:
    # The system first: Playwright's sync API holds an event loop, which
    # start_stack's asyncio.run must not find running.
    context = browser.new_context(base_url=system[0].base_url, viewport=DESKTOP,
                                  accept_downloads=True)  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Console errors, less Chromium's note on each 4xx the UI handles itself.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    # Nothing may leave the origin: no CDN, no fonts, no tiles.
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((system[0].base_url, "blob:", "data:"))
            else outside.append(r.url))  # fmt: skip
    page.set_default_timeout(15_000)
    yield page
    assert not outside, f"requests outside the app: {outside}"
    assert not errors, f"browser errors: {errors}"
    context.close()


_axe = Axe()
# The innermost elements reaching (or whose text reaches) past the viewport's right
# edge, to say what is too wide.
_WIDER_THAN_VIEW = """(() => {
  const reaches = (el) => el.getBoundingClientRect().left + el.scrollWidth > innerWidth + 1;
  return [...document.querySelectorAll("body *")]
    .filter((el) => reaches(el) && ![...el.children].some(reaches))
    .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${
      el.textContent.slice(0, 40)}`);
})()"""


def check_page(page: Page, name: str) -> None:
    """axe-core finds nothing, light and dark; screenshots at desktop and phone width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(50)
        results = _axe.run(page)
        assert results.violations_count == 0, f"{name} ({scheme}):\n{results.generate_report()}"
        page.screenshot(path=ARTIFACTS / f"{name}-desktop-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(100)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, (
        f"{name} scrolls sideways at phone width: {page.evaluate(_WIDER_THAN_VIEW)}"
    )
    page.screenshot(path=ARTIFACTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def menu(page: Page, name: str, exact: bool = False) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=exact)


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def sign_in(page: Page) -> None:
    """A fresh session through the sign-in form, whatever the page had before."""
    page.goto("/#/signin")
    heading(page, "Sign in")
    page.get_by_label("API key").fill(API_KEY)
    page.get_by_role("button", name="Sign in").click()
    heading(page, "Your links")


def owner_links(rest: httpx.Client, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": "100", **params, **({"cursor": cursor} if cursor else {})}
        page = rest.get("/v1/urls", params=query).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_sign_in(page: Page, rest: httpx.Client) -> None:
    console: list[str] = []
    fetched: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("request", lambda r: fetched.append(r.url))
    page.goto("/")
    heading(page, "Sign in")
    page.wait_for_load_state("networkidle")
    # A first visit asks nothing it knows fails: no 401 in the console (Lighthouse counts it).
    assert console == [], console
    # The chart and map libraries come with the stats page, not here.
    assert not [url for url in fetched if re.search(r"uPlot|topojson|countries|stats", url)]
    policy = page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in policy
    check_page(page, "sign-in")
    page.get_by_label("API key").fill("sl_not_a_real_key")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("That API key is not valid, or it was revoked.")
    page.get_by_label("API key").fill(API_KEY)
    page.get_by_role("button", name="Sign in").click()
    heading(page, "Your links")
    # The key is not kept by the page: only an HttpOnly session cookie, and when it ends.
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    stored = page.evaluate("JSON.stringify(localStorage)")
    assert API_KEY not in stored and json.loads(stored).keys() == {"shortlink.session-ends"}
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and API_KEY not in cookie["value"]


def test_create_link_and_alias_conflict(page: Page, rest: httpx.Client) -> None:
    menu(page, "New link").click()
    heading(page, "New link")
    page.get_by_label("Destination URL").fill("https://example.com/spring")
    page.get_by_label("Custom alias (optional)").fill("ui-spring")
    expect(page.locator(".alias-status")).to_have_text("“ui-spring” is available")
    page.get_by_label("Expires (optional)").fill("2031-06-30T18:00")
    page.get_by_label("Redirect type").select_option("301")
    check_page(page, "new-link")
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", name="Link created")).to_be_visible()
    link = rest.get("/v1/urls/ui-spring").json()
    assert link["original_url"] == "https://example.com/spring" and link["redirect_type"] == 301
    assert link["expires_at"].startswith("2031-06-30")

    # The same alias again: the live check says taken and offers free ones...
    page.get_by_label("Destination URL").fill("https://example.com/spring-2")
    page.get_by_label("Custom alias (optional)").fill("ui-spring")
    status = page.locator(".alias-status")
    expect(status).to_contain_text("“ui-spring” is taken.")
    # ...and so does the 409 when submitted anyway.
    page.get_by_role("button", name="Create link").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The alias 'ui-spring' is already taken")
    suggestion = status.locator("button.suggestion").first
    chosen = suggestion.inner_text()
    assert chosen.startswith("ui-spring-")
    suggestion.click()
    expect(page.get_by_label("Custom alias (optional)")).to_have_value(chosen)
    expect(alert).to_be_hidden()  # the form is fixed: the old error goes
    # On a phone the result is below the form: it is scrolled to and takes focus.
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Create link").click()
    created = page.get_by_role("heading", name="Link created")
    expect(created).to_be_focused()
    expect(created).to_be_in_viewport()
    page.set_viewport_size(DESKTOP)
    assert rest.get(f"/v1/urls/{chosen}").json()["original_url"] == "https://example.com/spring-2"


def test_find_by_search_and_filter(page: Page, rest: httpx.Client) -> None:
    rest.post("/v1/urls", json={"original_url": "https://other.example/autumn", "password": "pw"})
    menu(page, "Links", exact=True).click()
    heading(page, "Your links")
    rows = page.locator("table.links tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Search").fill("SPRING")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").fill("other.example")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("password")
    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option("protected")
    expect(rows).to_have_count(1)
    page.get_by_label("Status").select_option("all")
    page.get_by_label("Sort by").select_option("code")
    expect(rows).to_have_count(3)
    codes = [link["short_code"] for link in owner_links(rest, sort="code")]
    assert codes == sorted(codes) and len(codes) == 3
    for i, code in enumerate(codes):
        expect(rows.nth(i)).to_have_attribute("data-code", code)
    with page.expect_download() as exported:
        page.get_by_role("button", name="Export CSV").click()
    with open(exported.value.path(), newline="") as f:
        exported_rows = list(csv.DictReader(f))
    assert sorted(r["short_code"] for r in exported_rows) == sorted(codes)
    check_page(page, "links")


def test_edit_deactivate_and_qr(page: Page, rest: httpx.Client) -> None:
    page.get_by_label("Sort by").select_option("-created_at")
    page.get_by_label("Search").fill("ui-spring")
    page.get_by_role("link", name="Manage ui-spring", exact=True).click()
    heading(page, "Link ui-spring")
    page.get_by_label("Destination URL").fill("https://example.com/spring-sale")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".saved")).to_have_text("Changes saved.")
    assert (
        rest.get("/v1/urls/ui-spring").json()["original_url"] == "https://example.com/spring-sale"
    )
    page.get_by_role("button", name="Deactivate", exact=True).click()
    expect(page.get_by_role("button", name="Activate", exact=True)).to_be_visible()
    assert rest.get("/v1/urls/ui-spring").json()["is_active"] is False
    page.get_by_role("button", name="Activate", exact=True).click()
    expect(page.get_by_role("button", name="Deactivate", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="QR code for")).to_be_visible()
    check_page(page, "link")

    with page.expect_download() as png:
        page.get_by_role("link", name="Download PNG").click()
    image = Image.open(png.value.path())
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == rest.get("/v1/urls/ui-spring").json()["short_url"]
    with page.expect_download() as svg:
        page.get_by_role("link", name="Download SVG").click()
    assert Path(svg.value.path()).read_text().startswith("<svg")


def test_delete_with_confirmation(page: Page, rest: httpx.Client) -> None:
    rest.post(
        "/v1/urls", json={"original_url": "https://example.com/bye", "custom_alias": "ui-bye"}
    )
    page.goto("/#/links/ui-bye")
    heading(page, "Link ui-bye")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete ui-bye?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    assert rest.get("/v1/urls/ui-bye").status_code == 200
    page.get_by_role("button", name="Delete…").click()
    page.keyboard.press("Tab")  # keyboard only: Cancel has focus, Tab to Delete link
    page.get_by_role("dialog").get_by_role("button", name="Delete link").press("Enter")
    heading(page, "Your links")
    assert rest.get("/v1/urls/ui-bye").status_code == 404


def test_a_link_managed_by_kubernetes_is_read_only_here(
    page: Page,
    rest: httpx.Client,
    system: tuple[ServiceProcess, ServiceProcess],
    postgres_server: PostgresServer,
) -> None:
    """A ShortLink's link (the operator writes managed_by) is shown, never offered for
    editing: the page names the resource to edit instead (the API refuses with a 409)."""
    rest.post(
        "/v1/urls", json={"original_url": "https://example.com/gitops", "custom_alias": "ui-gitops"}
    )
    database = urlsplit(system[0].env["DATABASE_URL"]).path.lstrip("/")
    postgres_server.execute(
        "UPDATE links SET managed_by = 'team-a/gitops-link' WHERE code = 'ui-gitops'", database
    )
    assert rest.patch("/v1/urls/ui-gitops", json={"is_active": False}).status_code == 409
    page.goto("/#/links/ui-gitops")
    heading(page, "Link ui-gitops")
    expect(page.locator(".badge-kubernetes")).to_have_text("kubernetes")
    expect(page.get_by_text("Managed by Kubernetes")).to_contain_text("team-a/gitops-link")
    for name in ("Save changes", "Delete…", "Deactivate"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Statistics")).to_be_visible()
    check_page(page, "managed-link")


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["original_url", "custom_alias", "redirect_type"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_csv_import_shows_bad_rows_then_creates_all(page: Page, rest: httpx.Client) -> None:
    before = len(owner_links(rest))
    rows = [{"original_url": f"https://import.example/item/{i}", "custom_alias": f"imp-{i:02d}",
             "redirect_type": "302"} for i in range(50)]  # fmt: skip
    bad = [dict(r) for r in rows]
    bad[9]["original_url"] = "not a url"
    bad[29]["custom_alias"] = "x!"
    menu(page, "Import CSV").click()
    heading(page, "Import links from CSV")
    upload = {"name": "links.csv", "mimeType": "text/csv"}
    page.get_by_label("CSV file").set_input_files({**upload, "buffer": _csv(bad)})
    expect(page.locator(".summary")).to_contain_text("2 of 50 rows have problems.")
    errors = page.locator("tr.row-error")
    expect(errors).to_have_count(2)
    assert errors.nth(0).locator("td").first.inner_text() == "11"  # line 11: header is line 1
    expect(errors.nth(0).locator("td").nth(1)).to_contain_text("URL")
    expect(errors.nth(1).locator("td").nth(1)).to_have_text("Alias must be 3-20 characters long")
    expect(page.get_by_role("button", name="Create links")).to_be_disabled()
    assert len(owner_links(rest)) == before  # nothing created
    check_page(page, "import-errors")

    page.get_by_label("CSV file").set_input_files({**upload, "buffer": _csv(rows)})
    expect(page.locator(".summary")).to_contain_text("All 50 rows are valid")
    page.get_by_role("button", name="Create links").click()
    expect(page.locator(".summary")).to_contain_text("Created 50 links.")
    assert len(owner_links(rest)) == before + 50
    assert len(owner_links(rest, q="imp-")) == 50


def _series_responses(page: Page, action: Any) -> list[dict[str, Any]]:
    responses: list[Response] = []
    listener = lambda r: responses.append(r) if "/stats?" in r.url else None  # noqa: E731
    page.on("response", listener)
    action()
    for _ in range(150):  # Playwright delivers events only while it is called: not time.sleep
        if len(responses) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(responses) >= 2, f"stats responses: {[r.url for r in responses]}"
    page.remove_listener("response", listener)
    bodies = [r.json() for r in responses]
    return sorted(bodies, key=lambda b: b["to"])  # previous period first


def test_stats_page_shows_the_clicks(
    page: Page, rest: httpx.Client, system: tuple[ServiceProcess, ServiceProcess]
) -> None:
    rest.post("/v1/urls", json={"original_url": "https://example.com/stats",
                                        "custom_alias": "ui-stats"}).json()  # fmt: skip
    with httpx.Client(base_url=system[1].base_url, timeout=10) as visitor:
        for ip in [IN_GB] * 3 + [IN_US] * 2:
            headers = {"User-Agent": BROWSER_UA, "X-Forwarded-For": ip}
            assert visitor.get("/ui-stats", headers=headers).status_code == 302
        bot = {"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
        visitor.get("/ui-stats", headers=bot)
    wait_for(
        "5 clicks stored",
        lambda: (
            rest.get("/v1/urls/ui-stats/stats").json()["totals"]["clicks"] == 5
            and rest.get("/v1/urls/ui-stats/stats").json()["totals"]["bot_clicks"] == 1
        ),
    )

    # The list's clicks: all time and per UTC day, today last, in one request.
    listed = rest.get("/v1/urls", params={"q": "ui-stats", "include": "clicks"}).json()
    assert listed["clicks"] == {"ui-stats": {"total": 5, "last_7_days": [0, 0, 0, 0, 0, 0, 5]}}

    # ...shown in the list: the count, a sparkline, and what it draws in words.
    page.goto("/#/links?q=ui-stats")
    clicks = page.locator("tr[data-code=ui-stats] td.clicks")
    expect(clicks.locator("[data-clicks]")).to_have_text("5")
    expect(clicks.locator("svg.sparkline polyline")).to_have_count(1)
    expect(clicks).to_contain_text("5 clicks in the last 7 days")
    check_page(page, "links-clicks")
    # At phone width each link is a card: nothing off screen, tapping the code stays here.
    page.set_viewport_size(PHONE)
    results = page.locator("#results .table-wrap")
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth"), "the list scrolls sideways"
    expect(page.get_by_role("link", name="Stats of ui-stats")).to_be_in_viewport()
    page.locator("tr[data-code=ui-stats] a.code").click()
    heading(page, "Link ui-stats")
    page.set_viewport_size(DESKTOP)

    previous, current = _series_responses(
        page, lambda: page.goto("/#/links/ui-stats/stats?range=24h")
    )
    heading(page, "Statistics for ui-stats")
    assert current["interval"] == "hour" and previous["to"] == current["from"]
    chart = page.locator(".chart")
    expect(chart.locator("canvas")).to_have_count(1)
    points = len(current["series"])
    assert points == 24
    expect(chart).to_have_attribute("data-points", str(points))
    expect(page.locator("[data-total=clicks]")).to_have_text("5")
    expect(page.locator("[data-total=unique_visitors]")).to_have_text("2")
    expect(page.locator("[data-total=bot_clicks]")).to_have_text("1")
    page.get_by_text("Show the numbers as a table").click()
    table = page.get_by_role("table", name="Clicks per hour")
    expect(table.locator("tbody tr")).to_have_count(points)
    cells = table.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert sum(int(c) for c in cells) == 5
    countries = page.get_by_role("table", name="Countries")
    expect(countries.locator("tbody tr").first).to_contain_text("United Kingdom (GB)")
    expect(countries.locator("tbody tr").first).to_contain_text("3")
    expect(page.locator("svg.world path.shade-5 title")).to_contain_text("United Kingdom: 3")
    devices = page.get_by_role("table", name="Devices")
    expect(devices.locator("tbody tr").first.locator("td").first).to_have_text("Desktop")
    # One heading per breakdown: the table is named by it, not by a second caption.
    expect(page.get_by_text("Cities", exact=True)).to_have_count(1)
    expect(page.get_by_role("table", name="Cities")).to_contain_text("London")
    # Shares as text and as a bar of that width.
    share = countries.locator("tbody tr").first.locator(".share")
    expect(share).to_have_text("60%")
    assert share.locator(".bar").evaluate("el => el.style.width") == "60%"
    expect(page.get_by_text("No referrers: every click came direct")).to_be_visible()
    caption = page.locator(".map figcaption")
    said = "countries sent more clicks; the table below lists them."
    expect(caption).to_have_text(f"Darker {said}", use_inner_text=True)
    page.emulate_media(color_scheme="dark")
    expect(caption).to_have_text(f"Lighter {said}", use_inner_text=True)
    page.emulate_media(color_scheme="light")
    check_page(page, "stats")

    previous, current = _series_responses(page, lambda: page.get_by_label("Last 7 days").check())
    assert current["interval"] == "day"
    expect(chart).to_have_attribute("data-points", str(len(current["series"])))
    assert len(current["series"]) in (7, 8)

    page.get_by_label("Custom range").check()
    page.get_by_label("From", exact=True).fill("2026-01-01T00:00")
    page.get_by_label("To", exact=True).fill("2026-01-04T00:00")
    _, custom = _series_responses(
        page, lambda: page.get_by_role("button", name="Apply range").click()
    )
    assert custom["interval"] == "day" and custom["totals"]["clicks"] == 0
    expect(page.get_by_role("heading", name="No clicks in this range")).to_be_visible()
    with page.expect_download() as exported:
        page.get_by_role("button", name="Export CSV").click()
    assert "series" in Path(exported.value.path()).read_text()
    _, again = _series_responses(page, lambda: page.get_by_role("button", name="Refresh").click())
    assert again["from"] == custom["from"]


def test_stats_page_breaks_clicks_down_by_rule_variant_and_tag(
    page: Page, rest: httpx.Client, system: tuple[ServiceProcess, ServiceProcess]
) -> None:
    created = rest.post("/v1/urls", json={
        "original_url": "https://example.com/ab", "custom_alias": "ui-ab",
        "rules": [{"id": "uk", "conditions": {"country": ["GB"]},
                   "action": {"target": "https://example.com/uk"}}],
        "variants": [{"id": "a", "target": "https://example.com/a", "weight": 1},
                     {"id": "b", "target": "https://example.com/b", "weight": 1}],
        "tags": ["spring", "email"],
    })  # fmt: skip
    assert created.status_code == 201, created.text
    served: dict[str, int] = {}
    with httpx.Client(base_url=system[1].base_url, timeout=10) as visitor:
        for ip in [IN_GB] * 2 + ["8.8.8.8", "9.9.9.9", "1.1.1.1"]:
            headers = {"User-Agent": BROWSER_UA, "X-Forwarded-For": ip}
            location = visitor.get("/ui-ab", headers=headers).headers["location"]
            served[location] = served.get(location, 0) + 1
    assert served.get("https://example.com/uk") == 2, served

    def stored() -> bool:
        stats = rest.get("/v1/urls/ui-ab/stats").json()
        return stats["totals"]["clicks"] == 5 and sum(r["clicks"] for r in stats["variants"]) == 3

    wait_for("5 clicks with their rule and variants stored", stored)
    page.goto("/#/links/ui-ab/stats")
    heading(page, "Statistics for ui-ab")
    rules = page.get_by_role("table", name="Rules")
    expect(rules.locator("tbody tr")).to_have_count(1)
    expect(rules.locator("tbody tr td")).to_have_text(["uk", "2", "40%"])
    variants = page.get_by_role("table", name="A/B variants")
    for variant in ("a", "b"):
        clicks = served.get(f"https://example.com/{variant}", 0)
        row = variants.locator("tbody tr").filter(has_text=f"{variant} (link's split)")
        expect(row).to_have_count(1 if clicks else 0)
        if clicks:
            expect(row.locator("td").nth(1)).to_have_text(str(clicks))
    tags = page.get_by_role("table", name="Tags")
    # Every click carries both tags: each tag's share is of all clicks, 100 %.
    expect(tags.locator("tbody tr")).to_have_count(2)
    for tag in ("spring", "email"):
        expect(tags.locator("tbody tr").filter(has_text=tag).locator("td")).to_have_text(
            [tag, "5", "100%"]
        )
    check_page(page, "stats-rules")

    # A link without rules, split or tags has none of these cards.
    rest.post("/v1/urls", json={"original_url": "https://example.com/plain",
                                "custom_alias": "ui-plain"})  # fmt: skip
    with httpx.Client(base_url=system[1].base_url, timeout=10) as visitor:
        visitor.get("/ui-plain", headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": IN_GB})
    plain = lambda: rest.get("/v1/urls/ui-plain/stats").json()["totals"]["clicks"] == 1  # noqa: E731
    wait_for("1 click stored", plain)
    page.goto("/#/links/ui-plain/stats")
    heading(page, "Statistics for ui-plain")
    expect(page.get_by_role("table", name="Countries")).to_be_visible()
    expect(page.get_by_role("heading", name="Rules")).to_have_count(0)
    expect(page.get_by_role("heading", name="Tags")).to_have_count(0)


def test_long_referrers_leave_the_share_column_in_view(
    page: Page, rest: httpx.Client, system: tuple[ServiceProcess, ServiceProcess]
) -> None:
    rest.post("/v1/urls", json={"original_url": "https://example.com/refs",
                                "custom_alias": "ui-refs"})  # fmt: skip
    host = "newsletter-archive.campaigns.a-rather-long-referrer-name.example.org"
    with httpx.Client(base_url=system[1].base_url, timeout=10) as visitor:
        for path in ("/spring", "/autumn"):
            headers = {"User-Agent": BROWSER_UA, "Referer": f"https://{host}{path}"}
            assert visitor.get("/ui-refs", headers=headers).status_code == 302
    stored = lambda: rest.get("/v1/urls/ui-refs/stats").json()["totals"]["clicks"] == 2  # noqa: E731
    wait_for("2 clicks stored", stored)
    page.goto("/#/links/ui-refs/stats")
    referrers = page.get_by_role("table", name="Referrers")
    expect(referrers).to_contain_text(host)
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.wait_for_timeout(100)
        wrap = page.get_by_role("region", name="Referrers")
        assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), f"clipped at {size}"
        share, box = referrers.get_by_role("cell", name="100%"), wrap.bounding_box()
        right = share.bounding_box()
        assert box and right and right["x"] + right["width"] <= box["x"] + box["width"] + 0.5
    page.set_viewport_size(DESKTOP)


def test_stats_without_clicks_say_so_once(page: Page, rest: httpx.Client) -> None:
    rest.post("/v1/urls", json={"original_url": "https://example.com/quiet",
                                "custom_alias": "ui-quiet"})  # fmt: skip
    page.goto("/#/links/ui-quiet/stats")
    heading(page, "Statistics for ui-quiet")
    expect(page.get_by_role("heading", name="No clicks in this range")).to_be_visible()
    expect(page.get_by_text("No clicks in this range")).to_have_count(1)
    expect(page.locator("table")).to_have_count(0)
    expect(page.locator("[data-total=clicks]")).to_have_text("0")
    check_page(page, "stats-empty")


def test_stats_of_a_link_you_dont_own_show_only_that_there_is_none(
    page: Page, rest: httpx.Client
) -> None:
    minted = rest.post("/v1/api-keys", json={"name": "other", "owner": "someone-else"}).json()
    theirs = httpx.post(f"{rest.base_url}/v1/urls", json={"original_url": "https://example.com/x"},
                        headers={"Authorization": f"Bearer {minted['key']}"}).json()  # fmt: skip
    page.goto(f"/#/links/{theirs['short_code']}/stats")
    heading(page, "Not found")
    expect(page.get_by_role("alert")).to_have_text(f"No link with code '{theirs['short_code']}'.")
    expect(page.get_by_role("group", name="Range")).to_have_count(0)
    expect(page.get_by_role("button")).to_have_count(1)  # Sign out, nothing of the stats page


IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_stats_filters_live_in_the_url_and_rows_filter_the_page(
    page: Page, rest: httpx.Client, system: tuple[ServiceProcess, ServiceProcess]
) -> None:
    """Issue 23: click a row to filter, the filter in the URL (shareable), invert and
    remove it; the last 30 minutes; the compare toggle; the all-links dashboard."""
    for alias in ("ui-f1", "ui-f2"):
        rest.post("/v1/urls", json={"original_url": "https://example.com/f",
                                    "custom_alias": alias})  # fmt: skip
    with httpx.Client(base_url=system[1].base_url, timeout=10) as visitor:
        for alias, agent in [("ui-f1", BROWSER_UA)] * 2 + [
            ("ui-f1", IPHONE_UA),
            ("ui-f2", BROWSER_UA),
        ]:
            assert visitor.get(f"/{alias}", headers={"User-Agent": agent}).status_code == 302
        bot = {"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
        assert visitor.get("/ui-f1", headers=bot).status_code == 302
    wait_for("4 clicks and a bot's stored", lambda: (
        rest.get("/v1/urls/ui-f1/stats").json()["totals"]["bot_clicks"] == 1
        and rest.get("/v1/urls/ui-f1/stats").json()["totals"]["clicks"] == 3
        and rest.get("/v1/urls/ui-f2/stats").json()["totals"]["clicks"] == 1))  # fmt: skip

    page.goto("/#/links/ui-f1/stats?range=24h")
    heading(page, "Statistics for ui-f1")
    expect(page.locator("[data-total=clicks]")).to_have_text("3")
    expect(page.locator("[data-realtime=clicks]")).to_have_text("3")
    devices = page.get_by_role("table", name="Devices")
    devices.get_by_role("button", name="Mobile").click()
    expect(page.locator("[data-total=clicks]")).to_have_text("1")
    assert "filter=device%3Ais%3Amobile" in page.url
    chips = page.get_by_role("group", name="Filters")
    expect(chips).to_contain_text("Device is Mobile")
    expect(page.locator("[data-realtime=clicks]")).to_have_text("1")
    expect(page.get_by_text("1 click", exact=True)).to_be_visible()
    expect(page.locator(".stats-body")).not_to_contain_text("null")
    check_page(page, "stats-filtered")
    # The URL is the view: opened afresh (as someone it was shared with would), the same.
    shared = page.url
    page.goto("/#/links")
    page.goto(shared)
    expect(page.locator("[data-total=clicks]")).to_have_text("1")
    expect(page.get_by_role("group", name="Filters")).to_contain_text("Device is Mobile")
    page.get_by_role("button", name="Invert: Device is not Mobile").click()
    expect(page.locator("[data-total=clicks]")).to_have_text("2")
    expect(page.get_by_role("group", name="Filters")).to_contain_text("Device is not Mobile")
    page.get_by_role("button", name="Remove filter: Device is not Mobile").click()
    expect(page.locator("[data-total=clicks]")).to_have_text("3")
    expect(page.get_by_role("group", name="Filters")).to_have_count(0)
    # Two filters at once: nothing left, said so.
    page.get_by_role("table", name="Browsers").get_by_role("button", name="Chrome").click()
    expect(page.locator("[data-total=clicks]")).to_have_text("2")
    page.get_by_role("table", name="Devices").get_by_role("button", name="Desktop").click()
    expect(page.locator("[data-total=clicks]")).to_have_text("2")
    assert page.url.count("filter=") == 2
    page.get_by_role("button", name="Invert: Device is not Desktop").click()
    expect(page.get_by_role("heading", name="No clicks in this range")).to_be_visible()
    page.get_by_role("link", name="Clear all").click()
    expect(page.locator("[data-total=clicks]")).to_have_text("3")
    # Bots instead of people: a visitor filter, in the URL too.
    page.get_by_label("Count bots instead of people").check()
    expect(page.get_by_role("group", name="Filters")).to_contain_text("Visitor is Bot")
    expect(page.locator("[data-total=clicks]")).to_have_text("1")
    assert "filter=visitor%3Ais%3Abot" in page.url
    page.get_by_label("Count bots instead of people").uncheck()
    expect(page.locator("[data-total=clicks]")).to_have_text("3")

    # The compare toggle, kept in the URL too.
    page.get_by_label("Compare to the previous period").uncheck()
    expect(page.get_by_text("Previous period", exact=True)).to_have_count(0)
    assert "compare=0" in page.url

    # The dashboard: every link of the workspace; a link's row opens its stats.
    menu(page, "Dashboard").click()
    heading(page, "All links")
    top = page.get_by_role("table", name="Top links")
    expect(top.get_by_role("link", name="ui-f1")).to_be_visible()
    expect(top.get_by_role("link", name="ui-f2")).to_be_visible()
    page.get_by_role("table", name="Devices").get_by_role("button", name="Mobile").click()
    expect(page.get_by_role("table", name="Top links").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("table", name="Top links")).to_contain_text("ui-f1")
    check_page(page, "stats-dashboard")
    page.get_by_role("table", name="Top links").get_by_role("link", name="ui-f1").click()
    heading(page, "Statistics for ui-f1")
    expect(page.locator("[data-total=clicks]")).to_have_text("1")  # the filter came along


def test_api_keys(page: Page, rest: httpx.Client) -> None:
    menu(page, "API keys").click()
    heading(page, "API keys")
    page.get_by_label("Name").fill("ui-minted")
    page.get_by_label("Owner", exact=True).fill("marketing")
    page.get_by_role("button", name="Mint key").click()
    secret = page.locator("#new-key").inner_text()
    assert re.fullmatch(r"sl_[A-Za-z0-9_-]{40,}", secret)
    assert httpx.get(f"{rest.base_url}/v1/urls",
                     headers={"Authorization": f"Bearer {secret}"}).status_code == 200  # fmt: skip
    check_page(page, "api-keys")
    page.get_by_role("button", name=re.compile(r"Revoke key ui-minted")).click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("row").filter(has_text="ui-minted")).to_contain_text("revoked")
    page.reload()
    expect(page.get_by_role("row").filter(has_text="ui-minted")).to_contain_text("revoked")


def test_one_key_is_one_api_key(
    system: tuple[ServiceProcess, ServiceProcess], browser: Browser, rest: httpx.Client
) -> None:
    key = rest.post("/v1/api-keys", json={"name": "solo", "owner": "solo-owner"}).json()["key"]
    context = browser.new_context(base_url=system[0].base_url, viewport=DESKTOP)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("API key").fill("sl_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("API key").fill(key)
    expect(page.get_by_role("alert")).to_be_hidden()  # typing retires the old error
    page.get_by_role("button", name="Sign in").click()
    menu(page, "My API keys").click()
    expect(page.get_by_role("table", name="1 API key")).to_be_visible()
    context.close()


def test_keyboard_only_create_and_copy(page: Page, rest: httpx.Client) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/#/new")
    heading(page, "New link")  # focus moves to the heading of each page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "original_url"
    page.keyboard.type("https://example.com/typed")
    page.keyboard.press("Tab")
    page.keyboard.type("ui-typed")
    expect(page.locator(".alias-status")).to_have_text("“ui-typed” is available")
    for _ in range(10):  # past the expiry picker's fields (one Tab stop each) to the password
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "password":
            break
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type("open sesame")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Link created")).to_be_visible()
    created = rest.get("/v1/urls/ui-typed").json()
    assert created["password_protected"] is True
    copy = page.get_by_role("button", name=f"Copy short URL {created['short_url']}")
    copy.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".result [role=status]")).to_have_text(f"Copied {created['short_url']}")
    assert page.evaluate("navigator.clipboard.readText()") == created["short_url"]


LIGHTHOUSE = Path(".cache/lighthouse-12.2.3/node_modules/.bin/lighthouse")  # scripts/test
# Lighthouse's desktop preset: its mobile one multiplies every task's observed time by 4,
# which on this shared 2-core machine swings the performance score by several points.
THRESHOLDS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 1.0}
TRACE_ATTEMPTS = 3


def lighthouse(url: str, port: int, name: str) -> dict[str, float]:
    """Lighthouse's category scores for ``url``, audited in the browser listening on
    ``port`` (its cookies and storage kept); the report goes to test-artifacts/ui/."""
    report = ARTIFACTS / f"lighthouse-{name}.json"
    for _ in range(TRACE_ATTEMPTS):
        run = subprocess.run(
            [str(LIGHTHOUSE.resolve()), url, f"--port={port}", "--disable-storage-reset",
             "--preset=desktop", "--only-categories=" + ",".join(THRESHOLDS), "--output=json",
             f"--output-path={report}"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        # Its trace of the load sometimes misses the navigation start on a loaded host
        # (CI once): a failure of the instrument, which asks to be run again.
        if run.returncode == 0 or "NO_NAVSTART" not in run.stderr:
            break
    assert run.returncode == 0, f"lighthouse {name} failed:\n{run.stderr[-3000:]}"
    result = json.loads(report.read_text())
    failed = {audit["id"]: audit["title"] for audit in result["audits"].values()
              if audit.get("score") is not None and audit["score"] < 0.9
              and audit["scoreDisplayMode"] in ("binary", "numeric", "metricSavings")}  # fmt: skip
    scores = {key: category["score"] for key, category in result["categories"].items()}
    print(f"lighthouse {name}: {scores}; below 0.9: {failed}")
    return scores


@pytest.mark.skipif(not LIGHTHOUSE.exists(), reason="needs lighthouse (scripts/test installs it)")
def test_lighthouse_scores(
    system: tuple[ServiceProcess, ServiceProcess], browser: Browser, tmp_path: Path
) -> None:
    """Performance >= 95, accessibility and best practices 100 on the sign-in page, the
    links list and a stats page with clicks, in Debian's chromium."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = system[0].base_url
    port = free_port()
    pages = {"sign-in": f"{base}/", "links": f"{base}/#/links",
             "stats": f"{base}/#/links/ui-stats/stats"}  # fmt: skip
    # A browser of its own, with a profile whose cookie and storage Lighthouse keeps.
    profile = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
        args=[*FLAGS, f"--remote-debugging-port={port}"],
    )  # fmt: skip
    try:
        scores = {"sign-in": lighthouse(pages["sign-in"], port, "sign-in")}
        signing_in = profile.new_page()
        signing_in.goto(pages["sign-in"])
        signing_in.get_by_label("API key").fill(API_KEY)
        signing_in.get_by_role("button", name="Sign in").click()
        heading(signing_in, "Your links")
        signing_in.close()
        for name in ("links", "stats"):
            scores[name] = lighthouse(pages[name], port, name)
    finally:
        profile.close()
    low = {(name, key): score for name, got in scores.items() for key, score in got.items()
           if score < THRESHOLDS[key]}  # fmt: skip
    assert not low, f"Lighthouse below the thresholds {THRESHOLDS}: {low} (see {ARTIFACTS})"


def test_rules_page_edits_the_options_and_previews_a_visitor(
    page: Page, rest: httpx.Client
) -> None:
    created = rest.post("/v1/urls", json={
        "original_url": "https://example.com/app", "custom_alias": "ui-rules",
        "rules": [{"id": "uk", "conditions": {"country": ["GB"]},
                   "action": {"target": "https://example.com/uk"}}],
        "variants": [{"id": "a", "target": "https://example.com/a", "weight": 3},
                     {"id": "b", "target": "https://example.com/b", "weight": 1}],
    })  # fmt: skip
    assert created.status_code == 201, created.text
    sign_in(page)  # alone, or after the sign-out test, the page has no session
    page.goto("/#/links/ui-rules")
    page.get_by_role("link", name="Rules", exact=True).click()
    heading(page, "Rules of ui-rules")
    expect(page.locator(".split-summary")).to_have_text("Default split: a 75 %, b 25 %.")
    split = page.get_by_role("region", name="A/B split")
    expect(split.locator(".share-of")).to_have_text(["75 %", "25 %"])

    preview = page.get_by_role("form", name="What would this visitor get?")
    preview.get_by_label("Country").fill("gb")
    preview.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview-answer")).to_have_text("302 to https://example.com/uk (rule uk)")
    preview.get_by_label("Country").fill("")
    preview.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview-answer")).to_contain_text("(no rule, variant ")

    # Weights show their shares as they are typed; a split summing to 0 is not sent.
    weights = split.get_by_label("Weight")
    weights.nth(1).fill("3")
    expect(split.locator(".share-of")).to_have_text(["50 %", "50 %"])
    weights.nth(0).fill("0")
    weights.nth(1).fill("0")
    expect(split.locator(".split-total")).to_have_text(
        "The weights add up to 0: give each variant a weight of 1 or more."
    )
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".save-bar [role=alert]")).to_contain_text("Not saved: ")
    expect(weights.nth(0)).to_have_attribute("aria-invalid", "true")
    expect(weights.nth(0)).to_be_focused()
    assert [v["weight"] for v in rest.get("/v1/urls/ui-rules").json()["variants"]] == [3, 1]
    weights.nth(0).fill("1")
    weights.nth(1).fill("3")
    expect(split.locator(".share-of")).to_have_text(["25 %", "75 %"])

    # A country the server refuses: the alert names the field, and its widget is marked.
    rule1 = page.get_by_role("group", name="Rule 1", exact=True)
    rule1.get_by_label("Country", exact=True).fill("UK")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".save-bar [role=alert]")).to_contain_text("rules[0].conditions.country[0]")
    expect(rule1.get_by_label("Country", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(rule1.get_by_label("Country", exact=True)).to_be_focused()
    rule1.get_by_label("Country", exact=True).fill("de, AT")

    # A second rule built widget by widget: mobile visitors with ?src=nl on weekday
    # office hours in Berlin go to a split of their own, with a 307.
    page.get_by_role("button", name="Add rule").click()
    rule2 = page.get_by_role("group", name="Rule 2", exact=True)
    expect(rule2.get_by_label("Country", exact=True)).to_be_focused()
    rule2.get_by_role("button", name="Remove the country condition of rule 2").click()
    adding = rule2.get_by_label("Add a condition to rule 2")
    for condition in ("device", "query", "time"):
        adding.select_option(condition)
        rule2.get_by_role("button", name="Add condition").click()
    rule2.get_by_role("group", name="Device", exact=True).get_by_label("mobile").check()
    rule2.get_by_label("Parameter 1", exact=True).fill("src")
    rule2.get_by_label("Test of parameter 1").select_option("equals")
    rule2.get_by_label("Value of parameter 1").fill("nl")
    rule2.get_by_label("Time zone").fill("Europe/Berlin")
    rule2.get_by_label("Split between variants").check()
    targets = rule2.get_by_label("Target URL")
    targets.nth(0).fill("https://example.com/nl-a")
    targets.nth(1).fill("https://example.com/nl-b")
    rule2.get_by_label("Redirect type").select_option("307")
    page.get_by_role("button", name="Move rule 2 up").click()
    moved = page.get_by_role("group", name="Rule 1", exact=True).get_by_label("Rule id")
    expect(moved).to_have_value("rule-2")
    page.get_by_role("button", name="Move rule 1 down").click()

    # The UTM builder shows the final URL as it is typed.
    utm = page.get_by_role("region", name="UTM and query parameters")
    utm.get_by_label("Source (utm_source)").fill("news letter")
    utm.get_by_label("Campaign (utm_campaign)").fill("spring")
    expect(utm.locator(".final-url")).to_have_text(
        "https://example.com/app?utm_source=news%20letter&utm_campaign=spring"
    )
    page.get_by_label("Click limit", exact=True).fill("1000")
    page.get_by_label("Once its clicks are used up, send visitors to").fill(
        "https://example.com/sold-out"
    )
    page.get_by_label("Tags", exact=True).fill("ui, Spring")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".saved")).to_have_text("Rules saved.")
    stored = rest.get("/v1/urls/ui-rules").json()
    assert stored["rules"][0]["conditions"] == {"country": ["AT", "DE"]}
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    assert stored["rules"][1] == {
        "id": "rule-2",
        "conditions": {"device": ["mobile"], "query": [{"param": "src", "equals": "nl"}],
                       "time": {"time_zone": "Europe/Berlin", "windows": [
                           {"days": weekdays, "start": "09:00", "end": "17:00"}]}},
        "action": {"redirect_type": 307, "variants": [
            {"id": "a", "target": "https://example.com/nl-a", "weight": 1},
            {"id": "b", "target": "https://example.com/nl-b", "weight": 1}]},
    }  # fmt: skip
    assert [v["weight"] for v in stored["variants"]] == [1, 3]
    assert stored["utm"] == {"source": "news letter", "campaign": "spring"}
    assert stored["max_clicks"] == 1000 and stored["tags"] == ["ui", "spring"]
    assert stored["fallbacks"]["exhausted"] == "https://example.com/sold-out"
    preview.get_by_label("Country").fill("de")
    preview.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview-answer")).to_have_text(
        "302 to https://example.com/uk?utm_source=news%20letter&utm_campaign=spring (rule uk)"
    )
    check_page(page, "rules")

    # The same document as JSON; an edit there shows in the form, and saves.
    page.get_by_role("button", name="Edit as JSON").click()
    editor = page.get_by_label("Link options (JSON)")
    document = json.loads(editor.input_value())
    assert document["rules"] == stored["rules"]
    document["folder"] = "marketing/2026"
    editor.fill(json.dumps(document))
    page.get_by_role("button", name="Edit as JSON").click()
    expect(page.get_by_label("Folder", exact=True)).to_have_value("marketing/2026")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".saved")).to_have_text("Rules saved.")
    assert rest.get("/v1/urls/ui-rules").json()["folder"] == "marketing/2026"


def test_sign_out_then_pages_refuse(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    heading(page, "Sign in")
    assert page.context.cookies() == []
    for route in ("#/links", "#/links/ui-spring/stats", "#/keys"):
        page.goto(f"/{route}")
        heading(page, "Sign in")
    assert page.evaluate("fetch('/v1/urls').then(r => r.status)") == 401
