"""The web UI's workspace pages in Debian's chromium, for a person signed in with single
sign-on (the harness's real OpenID provider) who belongs to two workspaces: the
switcher in the menu, the Members page (add, change a role, remove; the last owner
refused with the API's own message) and the Audit log (filters kept in the address,
"Load more" by the cursor, an entry's before/after)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.test_oidc_sign_in import Sso, sign_in_through_the_ui
from tests.e2e.test_web_ui import CHROMIUM, DESKTOP, FLAGS, check_page, heading
from tests.harness import PostgresServer, RedisServer
from tests.harness.stack import API_KEY
from tests.support.sso import sso_system

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

ALICE = "alice@example.com"  # owner of team-a, admin of team-b
CAROL = "carol@example.com"
EXTRA_LINKS = 54  # with team-b's own link, 55 link.create entries: two pages of 50


@dataclass(frozen=True)
class Workspaces:
    sso: Sso
    owner_keys: dict[str, str]  # slug -> an owner key of that workspace

    def members(self, slug: str) -> dict[str, str]:
        """member -> role, as the API has them."""
        key = self.owner_keys[slug]
        answer = httpx.get(f"{self.sso.api.base_url}/v1/workspace/members", timeout=10,
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return {m["member"]: m["role"] for m in answer.json()["items"]}


@pytest.fixture(scope="module")
def workspaces(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Workspaces]:
    accounts = {"alice": {"email": ALICE, "groups": []}}
    system = sso_system(postgres_server, redis_server, tmp_path_factory.mktemp("uiws"), accounts)
    with system as (api, provider):
        keys = _set_up(api.base_url)
        yield Workspaces(Sso(api, provider, keys["team-a"]), keys)


def _set_up(base_url: str) -> dict[str, str]:
    """team-a (alice its only owner) and team-b (alice admin), a link in each, and
    more links in team-b for a second page of its audit log."""
    keys = {}
    with httpx.Client(base_url=base_url, timeout=10,
                      headers={"Authorization": f"Bearer {API_KEY}"}) as admin:  # fmt: skip
        for slug in ("team-a", "team-b"):
            assert admin.post("/v1/workspaces", json={"slug": slug, "name": slug}).is_success
            minted = admin.post("/v1/api-keys",
                                json={"name": "owner", "owner": slug, "role": "owner"})  # fmt: skip
            assert minted.status_code == 201, minted.text
            keys[slug] = str(minted.json()["key"])
    for slug, role in (("team-a", "owner"), ("team-b", "admin")):
        with httpx.Client(base_url=base_url, timeout=10,
                          headers={"Authorization": f"Bearer {keys[slug]}"}) as owner:  # fmt: skip
            assert owner.put(f"/v1/workspace/members/{ALICE}", json={"role": role}).is_success
            if slug == "team-b":
                urls = [{"original_url": f"https://example.com/b/{i}"} for i in range(EXTRA_LINKS)]
                bulk = owner.post("/v1/urls/bulk", json={"urls": urls})
                assert bulk.status_code == 201, bulk.text
            # Last, so that it is on the first page of the list (newest first).
            made = owner.post("/v1/urls", json={"original_url": f"https://example.com/{slug}",
                                                "custom_alias": f"in-{slug}"})  # fmt: skip
            assert made.status_code == 201, made.text
    return keys


@pytest.fixture(scope="module")
def page(workspaces: Workspaces) -> Iterator[Page]:
    """One browser page signed in as alice through the UI's "Sign in with SSO"."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = chromium.new_context(base_url=workspaces.sso.api.base_url, viewport=DESKTOP)
        # Nothing leaves this machine (the provider's pages link a web font).
        context.route("**/*", lambda route: route.continue_()
                      if urlsplit(route.request.url).hostname == "127.0.0.1"
                      else route.abort())  # fmt: skip
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)  # fmt: skip
        page.set_default_timeout(20_000)
        sign_in_through_the_ui(page, workspaces.sso, "alice")
        yield page
        assert not errors, f"browser errors: {errors}"
        context.close()
        chromium.close()


def switcher(page: Page) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_label("Workspace")


def link_shown(page: Page, code: str) -> Any:
    return page.get_by_role("region", name="Your links").get_by_role("link", name=code, exact=True)


def test_switching_workspace_changes_every_call_and_is_kept(page: Page) -> None:
    expect(switcher(page)).to_have_value("team-a")  # the server's choice: the first by slug
    expect(link_shown(page, "in-team-a")).to_be_visible()
    with page.expect_request(lambda r: "/v1/urls?" in r.url) as listed:
        switcher(page).select_option("team-b")
    assert listed.value.headers.get("x-shortlink-workspace") == "team-b"
    expect(link_shown(page, "in-team-b")).to_be_visible()
    expect(link_shown(page, "in-team-a")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('shortlink.workspace')") == "team-b"
    page.reload()
    expect(switcher(page)).to_have_value("team-b")
    expect(link_shown(page, "in-team-b")).to_be_visible()


def test_members_add_change_and_remove(page: Page, workspaces: Workspaces) -> None:
    switcher(page).select_option("team-b")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    heading(page, "Members of team-b")
    table = page.get_by_role("region", name="Members")
    expect(table.locator(f'tr[data-member="{ALICE}"][data-role="admin"]')).to_have_count(1)
    # An admin grants up to admin: no owner to offer.
    expect(page.get_by_label("Role", exact=True).locator("option")).to_have_text(
        ["viewer", "editor", "admin"]
    )
    page.get_by_label("E-mail address").fill("Carol@Example.com")
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Add member").click()
    expect(table.locator(f'tr[data-member="{CAROL}"][data-role="editor"]')).to_have_count(1)
    assert workspaces.members("team-b")[CAROL] == "editor"

    page.get_by_label(f"Role of {CAROL}", exact=True).select_option("viewer")
    page.get_by_role("button", name=f"Change role of {CAROL}").click()
    expect(table.locator(f'tr[data-member="{CAROL}"][data-role="viewer"]')).to_have_count(1)
    assert workspaces.members("team-b")[CAROL] == "viewer"
    check_page(page, "members")

    page.get_by_role("button", name=f"Remove {CAROL}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove member").click()
    expect(table.locator(f'tr[data-member="{CAROL}"]')).to_have_count(0)
    assert CAROL not in workspaces.members("team-b")


def test_removing_the_last_owner_shows_the_apis_conflict(page: Page) -> None:
    switcher(page).select_option("team-a")
    heading(page, "Members of team-a")  # the page shown is kept across the switch
    # Alone, the last owner may leave; with another member, the workspace needs an owner.
    page.get_by_label("E-mail address").fill(CAROL)
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(f'tr[data-member="{CAROL}"][data-role="viewer"]')).to_have_count(1)
    page.get_by_role("button", name=f"Remove {ALICE}").click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as answered:
        page.get_by_role("dialog").get_by_role("button", name="Remove member").click()
    assert answered.value.status == 409
    message = answered.value.json()["message"]
    expect(page.get_by_role("alert")).to_contain_text(message.rstrip("."))
    expect(page.locator(f'tr[data-member="{ALICE}"][data-role="owner"]')).to_have_count(1)


def audit_rows(page: Page) -> Any:
    return page.get_by_role("region", name="Audit log").locator("tr[data-entry]")


def test_audit_log_filters_pages_and_changes(page: Page) -> None:
    switcher(page).select_option("team-b")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    heading(page, "Audit log of team-b")
    page.get_by_label("Action").fill("member.update")
    page.get_by_label("Who").fill(ALICE)
    page.get_by_role("button", name="Apply filters").click()
    expect(audit_rows(page)).to_have_count(1)
    assert page.url.endswith("/#/workspace/audit?actor=alice%40example.com&action=member.update")
    row = audit_rows(page).first
    expect(row).to_contain_text(f"member {CAROL}")
    expect(row).to_contain_text(ALICE)
    row.get_by_role("button").click()
    changes = page.get_by_role("table", name=f"Changes of member.update {CAROL}")
    expect(changes.get_by_role("row", name="role")).to_contain_text("editor")
    expect(changes.get_by_role("row", name="role")).to_contain_text("viewer")
    check_page(page, "audit")

    # The filters live in the address: a reload shows the same entries.
    page.reload()
    expect(page.get_by_label("Action")).to_have_value("member.update")
    expect(audit_rows(page)).to_have_count(1)

    page.get_by_label("Who").fill("")
    page.get_by_label("Action").fill("link.create")
    page.get_by_role("button", name="Apply filters").click()
    expect(audit_rows(page)).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(audit_rows(page)).to_have_count(EXTRA_LINKS + 1)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()

    page.get_by_label("Link").fill("no-such-link")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No entries match these filters.")).to_be_visible()


def test_leaving_a_workspace_goes_on_in_the_one_left(page: Page, workspaces: Workspaces) -> None:
    """Alice removes herself from team-a (carol first: the last owner may leave only
    alone): the UI carries on in team-b, and with one workspace the switcher is gone."""
    switcher(page).select_option("team-a")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    heading(page, "Members of team-a")
    for who in (CAROL, ALICE):
        page.get_by_role("button", name=f"Remove {who}").click()
        page.get_by_role("dialog").get_by_role("button", name="Remove member").click()
        if who == CAROL:
            expect(page.locator(f'tr[data-member="{CAROL}"]')).to_have_count(0)
    heading(page, "Your links")
    expect(link_shown(page, "in-team-b")).to_be_visible()
    expect(switcher(page)).to_have_count(0)
    assert workspaces.members("team-a") == {}
    assert page.evaluate("localStorage.getItem('shortlink.workspace')") is None
    page.reload()
    expect(link_shown(page, "in-team-b")).to_be_visible()
    expect(switcher(page)).to_have_count(0)
