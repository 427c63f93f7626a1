"""Single sign-on for the web UI against a real OpenID provider (npm oidc-provider 9.x
from the harness) and the real API process: /v1/oidc/login and /v1/oidc/callback, the
person session they make (memberships read at every request, the groups claim mapped
to roles), and every refusal a JSON error that signs nobody in. The code, as a
browser would, goes through the provider's own login and consent pages."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from redis import Redis

from tests.e2e.test_web_ui import CHROMIUM, DESKTOP, FLAGS, check_page
from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.oidc import OidcProvider, sign_in_at_provider
from tests.harness.stack import API_KEY
from tests.support.sso import sso_system

STATE_COOKIE = "shortlink_oidc_state"
ACCOUNTS = {
    "alice": {"email": "Alice@Example.com", "groups": []},  # a member (owner) of team-a
    "bob": {"email": "bob@example.com", "groups": ["team-b-editors", "unrelated"]},
    "dave": {"email": "dave@example.com", "groups": []},  # a viewer of team-a, removed
}


@dataclass(frozen=True)
class Sso:
    api: ServiceProcess
    provider: OidcProvider
    team_a_owner_key: str

    @property
    def callback(self) -> str:
        return f"{self.api.base_url}/v1/oidc/callback"


@pytest.fixture(scope="module")
def sso(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    migrated_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sso]:
    with sso_system(
        postgres_server, redis_server, tmp_path_factory.mktemp("sso"), ACCOUNTS,
        SHORTLINK_OIDC_SCOPES="openid email groups",
        SHORTLINK_OIDC_GROUP_ROLES="team-b-editors=team-b:editor,nobody=team-a:owner",
    ) as (api, provider):  # fmt: skip
        yield Sso(api, provider, _set_up_workspaces(api.base_url))


def _set_up_workspaces(base_url: str) -> str:
    """team-a (alice owner, dave viewer) and team-b (no members); team-a's owner key."""
    with httpx.Client(base_url=base_url, timeout=10,
                      headers={"Authorization": f"Bearer {API_KEY}"}) as admin:  # fmt: skip
        for slug in ("team-a", "team-b"):
            assert admin.post("/v1/workspaces", json={"slug": slug, "name": slug}).is_success
        minted = admin.post(
            "/v1/api-keys", json={"name": "a-owner", "owner": "team-a", "role": "owner"}
        )
        assert minted.status_code == 201, minted.text
        key = str(minted.json()["key"])
    with httpx.Client(base_url=base_url, timeout=10,
                      headers={"Authorization": f"Bearer {key}"}) as owner:  # fmt: skip
        for who, role in (("alice@example.com", "owner"), ("dave@example.com", "viewer")):
            assert owner.put(f"/v1/workspace/members/{who}", json={"role": role}).is_success
    return key


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


def browser(sso: Sso) -> httpx.Client:
    """A cookie jar that sends what a page of the web UI sends."""
    origin = sso.api.base_url
    return httpx.Client(timeout=10, headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})


def come_back_from_provider(sso: Sso, client: httpx.Client, login: str) -> str:
    """Starts a sign-in and goes through the provider's pages: the callback URL."""
    started = client.get(f"{sso.api.base_url}/v1/oidc/login")
    assert started.status_code == 302, started.text
    assert started.headers["location"].startswith(f"{sso.provider.issuer}/")
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert (query["code_challenge_method"], query["response_type"]) == (["S256"], ["code"])
    return sign_in_at_provider(client, started.headers["location"], login, sso.callback)


def sign_in(sso: Sso, client: httpx.Client, login: str) -> dict[str, object]:
    """A whole sign-in: the session the browser then has."""
    back = client.get(come_back_from_provider(sso, client, login))
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/#/links"
    session = client.get(f"{sso.api.base_url}/v1/sessions")
    assert session.status_code == 200, session.text
    body: dict[str, object] = session.json()
    return body


def session_records(redis: Redis) -> int:
    return len(list(redis.scan_iter("session:*")))


def test_oidc_status_says_sso_is_on(sso: Sso) -> None:
    answer = httpx.get(f"{sso.api.base_url}/v1/oidc")
    assert answer.json() == {"enabled": True, "login_url": "/v1/oidc/login"}


def test_a_member_signs_in_and_acts_as_themselves(sso: Sso) -> None:
    with browser(sso) as client:
        session = sign_in(sso, client, "alice")
        assert session["kind"] == "person" and session["subject"] == "alice@example.com"
        assert (session["workspace"], session["role"]) == ("team-a", "owner")
        assert session["key_name"] is None
        assert client.cookies.get(STATE_COOKIE) is None  # used: cleared

        created = client.post(
            f"{sso.api.base_url}/v1/urls",
            json={"original_url": "https://example.com/sso"},
            headers={"X-CSRF-Token": str(session["csrf_token"])},
        )
        assert created.status_code == 201, created.text
        audit = httpx.get(
            f"{sso.api.base_url}/v1/workspace/audit",
            params={"link": created.json()["short_code"]},
            headers={"Authorization": f"Bearer {sso.team_a_owner_key}"},
        ).json()
        assert [(e["actor_kind"], e["actor"]) for e in audit["items"]] == [
            ("user", "alice@example.com")
        ]


def test_a_signed_in_owner_manages_members_and_keys_of_their_workspace(sso: Sso) -> None:
    with browser(sso) as client:
        csrf = {"X-CSRF-Token": str(sign_in(sso, client, "alice")["csrf_token"])}
        minted = client.post(f"{sso.api.base_url}/v1/api-keys", headers=csrf,
                             json={"name": "ci", "role": "viewer"})  # fmt: skip
        assert minted.status_code == 201, minted.text
        assert (minted.json()["owner"], minted.json()["role"]) == ("team-a", "viewer")
        added = client.put(f"{sso.api.base_url}/v1/workspace/members/erin@example.com",
                           headers=csrf, json={"role": "editor"})  # fmt: skip
        assert added.status_code == 200, added.text
        log = client.get(f"{sso.api.base_url}/v1/workspace/audit",
                         params={"actor": "alice@example.com"}).json()["items"]  # fmt: skip
        assert {e["action"] for e in log} >= {"key.create", "member.create"}
    key = minted.json()["key"]
    answer = httpx.get(f"{sso.api.base_url}/v1/urls", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200


def test_the_groups_claim_gives_roles_by_configuration(sso: Sso) -> None:
    with browser(sso) as client:
        session = sign_in(sso, client, "bob")  # no membership: only team-b-editors
        assert (session["workspace"], session["role"]) == ("team-b", "editor")
        other = client.get(
            f"{sso.api.base_url}/v1/urls", headers={"X-Shortlink-Workspace": "team-a"}
        )
        assert other.status_code == 403 and other.json()["error"] == "FORBIDDEN"
        members = client.get(f"{sso.api.base_url}/v1/workspace/members")
        assert members.status_code == 403  # an editor, not an admin
        listed = client.get(f"{sso.api.base_url}/v1/workspaces").json()["items"]
        assert [w["slug"] for w in listed] == ["team-b"]  # reached through the group


def test_a_removed_member_is_signed_out_at_once(sso: Sso, redis: Redis) -> None:
    with browser(sso) as client:
        assert sign_in(sso, client, "dave")["role"] == "viewer"
        assert client.get(f"{sso.api.base_url}/v1/urls").status_code == 200
        removed = httpx.delete(
            f"{sso.api.base_url}/v1/workspace/members/dave@example.com",
            headers={"Authorization": f"Bearer {sso.team_a_owner_key}"},
        )
        assert removed.status_code == 204
        gone = client.get(f"{sso.api.base_url}/v1/urls")
        assert gone.status_code == 401 and gone.json()["error"] == "UNAUTHORIZED"
        assert client.get(f"{sso.api.base_url}/v1/sessions").status_code == 401


def test_someone_in_no_workspace_is_refused_and_no_session_is_made(sso: Sso, redis: Redis) -> None:
    before = session_records(redis)
    with browser(sso) as client:
        back = client.get(come_back_from_provider(sso, client, "carol"))
    assert back.status_code == 403 and back.json()["error"] == "NOT_A_MEMBER"
    assert "shortlink_session" not in back.headers.get("set-cookie", "")
    assert session_records(redis) == before


def test_a_replayed_state_is_refused(sso: Sso, redis: Redis) -> None:
    with browser(sso) as client:
        callback = come_back_from_provider(sso, client, "alice")
        state = parse_qs(urlsplit(callback).query)["state"][0]
        assert client.get(callback).status_code == 303
    before = session_records(redis)
    # The same callback again, with the state cookie put back: the attempt is used up.
    replayed = httpx.get(callback, headers={"Cookie": f"{STATE_COOKIE}={state}"})
    assert replayed.status_code == 403, replayed.text
    assert (replayed.json()["error"], replayed.json()["reason"]) == ("INVALID_STATE", "unknown")
    assert session_records(redis) == before


def test_a_callback_this_browser_did_not_start_is_refused(sso: Sso, redis: Redis) -> None:
    """Login CSRF: an attacker's own callback URL, sent to a victim's browser."""
    with browser(sso) as attacker:
        callback = come_back_from_provider(sso, attacker, "alice")
    before = session_records(redis)
    with browser(sso) as victim:
        answer = victim.get(callback)
    assert answer.status_code == 403
    assert (answer.json()["error"], answer.json()["reason"]) == ("INVALID_STATE", "browser")
    assert session_records(redis) == before


def test_a_forged_code_gets_no_session(sso: Sso, redis: Redis) -> None:
    with browser(sso) as client:
        callback = come_back_from_provider(sso, client, "alice")
        forged = callback.replace("code=", "code=forged", 1)
        before = session_records(redis)
        answer = client.get(forged)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "INVALID_ID_TOKEN"
        assert session_records(redis) == before
        # The state was used by that failed attempt: the genuine code can't follow it.
        client.cookies.set(STATE_COOKIE, parse_qs(urlsplit(callback).query)["state"][0])
        assert client.get(callback).json()["error"] == "INVALID_STATE"


def test_a_sign_in_cancelled_at_the_provider(sso: Sso) -> None:
    with browser(sso) as client:
        started = client.get(f"{sso.api.base_url}/v1/oidc/login").headers["location"]
        back = client.get(sign_in_at_provider(client, started, "!abort", sso.callback))
    assert back.status_code == 401
    assert (back.json()["error"], back.json()["provider_error"]) == (
        "SIGN_IN_REFUSED", "access_denied",
    )  # fmt: skip


def test_a_person_session_forged_in_redis_signs_no_one_in(sso: Sso, redis: Redis) -> None:
    """Whoever can write to Redis can't make themselves an owner: the record is sealed."""
    record = {"subject": "alice@example.com", "roles": {"team-a": "owner"}, "csrf": "c" * 43,
              "expires_at": time.time() + 3600}  # fmt: skip
    session_id = "s" * 43
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    redis.set(f"session:{digest}", orjson.dumps(record), ex=60)
    answer = httpx.get(f"{sso.api.base_url}/v1/sessions", cookies={"shortlink_session": session_id})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("quirks", "reason"),
    [
        # Its clock 40 s slow and 1-second ID tokens: expired beyond the 30 s of skew.
        ({"CLOCK_OFFSET_SECONDS": "-40", "ID_TOKEN_TTL": "1"}, "expired"),
        # Its clock 2 minutes fast: issued in the future.
        ({"CLOCK_OFFSET_SECONDS": "120"}, "not yet valid"),
        # Renamed: its tokens name another issuer than the one configured.
        ({"ISSUER_NAME": "http://localhost:{port}"}, "issuer"),
    ],
    ids=["expired", "from-the-future", "wrong-issuer"],
)
def test_id_tokens_a_misbehaving_provider_issues_are_refused(
    sso: Sso, redis: Redis, quirks: dict[str, str], reason: str
) -> None:
    port = str(sso.provider.port)
    sso.provider.restart(**{name: value.format(port=port) for name, value in quirks.items()})
    try:
        with browser(sso) as client:
            callback = come_back_from_provider(sso, client, "alice")
            before = session_records(redis)
            answer = client.get(callback)
    finally:
        sso.provider.restart()
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "INVALID_ID_TOKEN"
    assert reason in answer.json()["message"].lower()
    assert "shortlink_session" not in answer.headers.get("set-cookie", "")
    assert session_records(redis) == before


def test_a_provider_that_does_not_answer_is_a_503_and_no_session(sso: Sso, redis: Redis) -> None:
    with browser(sso) as client:
        callback = come_back_from_provider(sso, client, "alice")
        before = session_records(redis)
        sso.provider.stop()
        try:
            answer = client.get(callback)
        finally:
            sso.provider.start()
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "IDENTITY_PROVIDER_UNAVAILABLE"
    assert int(answer.headers["Retry-After"]) > 0
    assert session_records(redis) == before


# Last in this module: it restarts the provider with a new signing key.
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_signing_in_with_sso_in_a_browser_across_a_key_rotation(sso: Sso) -> None:
    """Debian's chromium through the web UI's "Sign in with SSO" and the provider's own
    pages, twice, the provider's signing key replaced in between (key-1 no longer
    published): the second ID token, signed by key-2, is verified too."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = chromium.new_context(base_url=sso.api.base_url, viewport=DESKTOP)
            # Nothing leaves this machine (the provider's pages link a web font).
            context.route("**/*", lambda route: route.continue_()
                          if urlsplit(route.request.url).hostname == "127.0.0.1"
                          else route.abort())  # fmt: skip
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto("/")
            expect(page.get_by_role("link", name="Sign in with SSO")).to_be_visible()
            check_page(page, "sign-in-sso")  # axe-clean, light and dark, phone width
            for rotation in ("key-2", None):
                sign_in_through_the_ui(page, sso, "alice")
                page.get_by_role("button", name="Sign out").click()
                expect(page.get_by_role("link", name="Sign in with SSO")).to_be_visible()
                if rotation:
                    assert sso.provider.rotate_keys(rotation)["kid"] == "key-1"
            context.close()
        finally:
            chromium.close()


def sign_in_through_the_ui(page: Page, sso: Sso, login: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign in with SSO").click()
    page.wait_for_url(f"{sso.provider.issuer}/**")
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{sso.api.base_url}/#/links")
    expect(page.get_by_text(f"Signed in as {login}@example.com")).to_be_visible()


# After every other sign-in of this module: it spends this network's allowance.
def test_starting_sign_ins_is_rate_limited_per_network(sso: Sso, redis: Redis) -> None:
    """Each start keeps an attempt in Redis: a flood gets 429s, not a full Redis."""
    with httpx.Client(timeout=10) as client:
        answers = [client.get(f"{sso.api.base_url}/v1/oidc/login") for _ in range(70)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.status_code == 302 for a in answers[: -len(refused)])
    assert refused[0].json()["error"] == "RATE_LIMIT_EXCEEDED"
    assert "Retry-After" in refused[0].headers
    assert len(list(redis.scan_iter("oidc-attempt:*"))) <= 60
