"""Seed flows 1, 2, 3, 5, 6, 7, 10 and management, over HTTP against running servers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.e2e.conftest import ApiClient
from tests.harness import PostgresServer, RedisServer, ServiceProcess
from tests.harness.stack import API_KEY, start_stack
from tests.support.waiting import wait_for

HTML = {"Accept": "text/html,application/xhtml+xml"}


def create(api: ApiClient, **body: object) -> dict[str, object]:
    response = api.call("POST", "/v1/urls", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_create_then_redirect(api: ApiClient, visitor: httpx.Client) -> None:
    link = create(api, original_url="https://example.com/long/path?q=1")

    assert link["short_url"] == f"{visitor.base_url}/{link['short_code']}".replace("//", "//")
    for method in ("GET", "HEAD"):
        response = visitor.request(method, f"/{link['short_code']}")
        assert response.status_code == 302
        assert response.headers["location"] == "https://example.com/long/path?q=1"


def test_redirect_type_is_honoured(api: ApiClient, visitor: httpx.Client) -> None:
    link = create(api, original_url="https://example.com/p", redirect_type=308)
    assert visitor.get(f"/{link['short_code']}").status_code == 308


def test_unknown_code_is_404_json_or_html(visitor: httpx.Client) -> None:
    response = visitor.get("/doesnotexist")
    assert response.status_code == 404 and response.json()["error"] == "NOT_FOUND"
    page = visitor.get("/doesnotexist", headers=HTML)
    assert page.status_code == 404 and "Link not found" in page.text


def test_custom_alias_flow(api: ApiClient, visitor: httpx.Client) -> None:
    create(api, original_url="https://example.com/blog", custom_alias="e2e-blog")
    assert visitor.get("/e2e-blog").headers["location"] == "https://example.com/blog"

    taken = api.call(
        "POST", "/v1/urls", json={"original_url": "https://x.org", "custom_alias": "e2e-blog"}
    )
    assert taken.status_code == 409
    assert taken.json()["error"] == "ALIAS_TAKEN" and taken.json()["suggestions"]

    for alias in ("ab", "has space", "metrics", "x" * 21):
        bad = api.call(
            "POST", "/v1/urls", json={"original_url": "https://x.org", "custom_alias": alias}
        )
        assert bad.status_code == 400 and bad.json()["error"] == "INVALID_ALIAS", alias


def test_invalid_input_gets_clear_errors(api: ApiClient) -> None:
    cases = {
        "javascript:alert(1)": "INVALID_URL",
        "https://" + "a" * 2050 + ".com": "INVALID_URL",
        "not a url": "INVALID_URL",
    }
    for url, code in cases.items():
        response = api.call("POST", "/v1/urls", json={"original_url": url})
        assert response.status_code == 400 and response.json()["error"] == code
    past = api.call(
        "POST",
        "/v1/urls",
        json={"original_url": "https://x.org", "expires_at": "2001-01-01T00:00:00Z"},
    )
    assert past.json()["error"] == "INVALID_EXPIRY"
    typed = api.call("POST", "/v1/urls", json={"original_url": 42})
    assert typed.status_code == 400 and typed.json()["error"] == "INVALID_REQUEST"
    extra = api.call("POST", "/v1/urls", json={"original_url": "https://x.org", "owner": "me"})
    assert extra.status_code == 400 and "owner" in extra.json()["message"]
    broken = api.call(
        "POST", "/v1/urls", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"] == "INVALID_REQUEST"


def test_expired_link_is_gone(api: ApiClient, visitor: httpx.Client) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    link = create(api, original_url="https://example.com/brief", expires_at=soon.isoformat())
    time.sleep(1.2)

    response = visitor.get(f"/{link['short_code']}")

    assert response.status_code == 410
    body = response.json()
    assert body["error"] == "URL_EXPIRED"
    assert body["message"] == f"This link expired on {soon.date().isoformat()}"
    assert body["expired_at"].startswith(soon.strftime("%Y-%m-%dT%H:%M:%S"))
    page = visitor.get(f"/{link['short_code']}", headers=HTML)
    assert page.status_code == 410 and "expired" in page.text


def test_password_flow(api: ApiClient, visitor: httpx.Client) -> None:
    link = create(api, original_url="https://example.com/secret", password="s3cret!")
    code = link["short_code"]

    blocked = visitor.get(f"/{code}")
    assert blocked.status_code == 403
    assert blocked.json()["action"] == {"method": "POST", "endpoint": f"/v1/urls/{code}/unlock"}
    assert "<form" in visitor.get(f"/{code}", headers=HTML).text

    wrong = api.call(
        "POST", "/v1/urls/{code}/unlock", key=None, path={"code": code}, json={"password": "nope"}
    )
    assert wrong.status_code == 401 and wrong.json() == {
        "error": "INVALID_PASSWORD",
        "message": "The password is incorrect",
        "attempts_remaining": 4,
    }
    right = api.call(
        "POST",
        "/v1/urls/{code}/unlock",
        key=None,
        path={"code": code},
        json={"password": "s3cret!"},
    )
    assert right.status_code == 200
    token = right.json()["unlock_token"]
    link_url = httpx.URL(right.json()["redirect_url"])
    link_token = link_url.params["unlock_token"]
    assert link_url.path == f"/{code}" and link_token != token
    assert right.json()["redirect_url_expires_in"] == 60

    # The session token works from the cookie only: never from a URL (issue 13, finding 10).
    via_cookie = visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={token}"})
    assert via_cookie.status_code == 302
    assert via_cookie.headers["location"] == "https://example.com/secret"
    assert via_cookie.headers["cache-control"] == "private, no-store"
    assert visitor.get(f"/{code}", params={"unlock_token": token}).status_code == 403
    # The 60-second link token in the URL: a client is sent on once, privately ...
    via_query = visitor.get(f"/{code}", params={"unlock_token": link_token})
    assert via_query.status_code == 302
    assert via_query.headers["location"] == "https://example.com/secret"
    assert via_query.headers["cache-control"] == "private, no-store"
    assert (
        visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={link_token}"}).status_code == 403
    )
    assert visitor.get(f"/{code}", params={"unlock_token": link_token + "x"}).status_code == 403
    # ... a browser trades it for the cookie and reloads the URL without it.
    browser = visitor.get(f"/{code}", params={"unlock_token": link_token}, headers=HTML)
    assert browser.status_code == 303 and browser.headers["location"] == f"/{code}"
    assert browser.headers["cache-control"] == "no-store"
    assert "content-type" not in browser.headers
    cookie = browser.cookies.get("unlock_token")
    assert cookie
    assert visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={cookie}"}).status_code == 302

    # Changing the password invalidates tokens issued for the old one.
    api.call("PATCH", "/v1/urls/{code}", path={"code": code}, json={"password": "n3w"})
    assert visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={token}"}).status_code == 403
    assert visitor.get(f"/{code}", params={"unlock_token": link_token}).status_code == 403


def test_redirects_say_how_long_they_may_be_cached(api: ApiClient, visitor: httpx.Client) -> None:
    """Issue 13, finding 7: 302/307 never stored; 301/308 for an hour, not forever."""
    for redirect_type, expected in [
        (302, "no-store"),
        (307, "no-store"),
        (301, "max-age=3600"),
        (308, "max-age=3600"),
    ]:
        code = create(api, original_url="https://example.com/c", redirect_type=redirect_type)[
            "short_code"
        ]
        response = visitor.get(f"/{code}")
        assert response.status_code == redirect_type
        assert response.headers["cache-control"] == expected
        # No body, so no Content-Type (Sanic's default for none was the text "None").
        assert sorted(response.headers) == [
            "cache-control",
            "connection",
            "content-length",
            "date",
            "location",
        ]
        assert response.headers["content-length"] == "0"


def test_password_form_on_the_redirector(api: ApiClient, visitor: httpx.Client) -> None:
    code = create(api, original_url="https://example.com/form", password="pw-form")["short_code"]

    wrong = visitor.post(f"/{code}", data={"password": "bad"}, headers=HTML)
    assert wrong.status_code == 401 and "Wrong password" in wrong.text
    right = visitor.post(f"/{code}", data={"password": "pw-form"}, headers=HTML)
    assert right.status_code == 303 and right.headers["location"] == f"/{code}"
    cookie = right.cookies.get("unlock_token")
    assert cookie
    assert visitor.get(f"/{code}", headers={"Cookie": f"unlock_token={cookie}"}).status_code == 302


def test_password_form_refuses_posts_from_other_sites(
    api: ApiClient, visitor: httpx.Client
) -> None:
    """Issue 13, finding 4: another site's page must not post guesses here."""
    code = create(api, original_url="https://example.com/f2", password="pw-form")["short_code"]
    own = str(visitor.base_url).rstrip("/")
    for headers in [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": own, "Sec-Fetch-Site": "cross-site"},
    ]:
        refused = visitor.post(f"/{code}", data={"password": "pw-form"}, headers=HTML | headers)
        assert refused.status_code == 403 and "from this site" in refused.text
        assert "set-cookie" not in refused.headers
    same = {"Origin": own, "Sec-Fetch-Site": "same-origin"}
    right = visitor.post(f"/{code}", data={"password": "pw-form"}, headers=HTML | same)
    assert right.status_code == 303


def test_bulk_create(api: ApiClient, visitor: httpx.Client) -> None:
    items = [{"original_url": f"https://example.com/bulk/{i}"} for i in range(1000)]
    response = api.call("POST", "/v1/urls/bulk", json={"urls": items})

    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["failed"], len(body["results"])) == (1000, 0, 1000)
    last = body["results"][999]
    assert (
        visitor.get(f"/{last['short_code']}").headers["location"] == "https://example.com/bulk/999"
    )

    items[42] = {"original_url": "ftp://nope"}
    invalid = api.call("POST", "/v1/urls/bulk", json={"urls": items})
    assert invalid.status_code == 400
    assert invalid.json()["invalid_urls"] == [
        {
            "index": 42,
            "error": "INVALID_URL",
            "message": "Only http and https URLs can be shortened",
        }
    ]


def test_manage_links(api: ApiClient, visitor: httpx.Client) -> None:
    key = api.call("POST", "/v1/api-keys", json={"name": "manager", "owner": "e2e-manager"}).json()[
        "key"
    ]
    codes = [
        api.call(
            "POST", "/v1/urls", key=key, json={"original_url": f"https://example.com/m/{i}"}
        ).json()["short_code"]
        for i in range(3)
    ]
    page1 = api.call("GET", "/v1/urls", key=key, params={"limit": 2}).json()
    page2 = api.call(
        "GET", "/v1/urls", key=key, params={"limit": 2, "cursor": page1["next_cursor"]}
    ).json()
    assert [i["short_code"] for i in page1["items"] + page2["items"]] == codes[::-1]
    assert page2["next_cursor"] is None

    code = codes[0]
    assert visitor.get(f"/{code}").status_code == 302  # now cached in every tier
    assert (
        api.call("GET", "/v1/urls/{code}", key=key, path={"code": code}).json()["short_code"]
        == code
    )
    assert api.call("GET", "/v1/urls/{code}", path={"code": code}).status_code == 404  # not yours

    patched = api.call(
        "PATCH",
        "/v1/urls/{code}",
        key=key,
        path={"code": code},
        json={"original_url": "https://example.org/moved"},
    )
    assert patched.status_code == 200
    assert visitor.get(f"/{code}").headers["location"] == "https://example.org/moved"

    api.call("PATCH", "/v1/urls/{code}", key=key, path={"code": code}, json={"is_active": False})
    assert visitor.get(f"/{code}").status_code == 404
    api.call("PATCH", "/v1/urls/{code}", key=key, path={"code": code}, json={"is_active": True})
    assert visitor.get(f"/{code}").status_code == 302

    assert api.call("DELETE", "/v1/urls/{code}", key=key, path={"code": code}).status_code == 204
    assert visitor.get(f"/{code}").status_code == 404
    assert api.call("DELETE", "/v1/urls/{code}", key=key, path={"code": code}).status_code == 404


def test_auth_and_api_keys(api: ApiClient) -> None:
    missing = api.call("POST", "/v1/urls", key=None, json={"original_url": "https://x.org"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert api.call("GET", "/v1/urls", key="sl_wrong").status_code == 401

    minted = api.call("POST", "/v1/api-keys", json={"name": "ci", "owner": "team-a"})
    assert minted.status_code == 201
    new_key, key_id = minted.json()["key"], minted.json()["id"]
    assert api.call("GET", "/v1/urls", key=new_key).status_code == 200
    # A non-admin key may rotate itself but not mint for others or mint admins.
    assert (
        api.call(
            "POST", "/v1/api-keys", key=new_key, json={"name": "x", "owner": "team-b"}
        ).status_code
        == 403
    )
    assert (
        api.call(
            "POST", "/v1/api-keys", key=new_key, json={"name": "x", "is_admin": True}
        ).status_code
        == 403
    )
    listed = api.call("GET", "/v1/api-keys", key=new_key).json()["items"]
    assert [k["owner"] for k in listed] == ["team-a"]

    revoked = api.call("DELETE", "/v1/api-keys/{key_id}", path={"key_id": key_id})
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.call("GET", "/v1/urls", key=new_key).status_code == 401
    assert api.call("GET", "/v1/urls", key=API_KEY).status_code == 200


def test_framework_errors_are_json(api: ApiClient, visitor: httpx.Client) -> None:
    wrong_method = api.http.put("/v1/urls", headers={"Authorization": f"Bearer {API_KEY}"})
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "METHOD_NOT_ALLOWED"
    nowhere = api.http.get("/v2/nothing")
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "NOT_FOUND"
    assert "Traceback" not in nowhere.text


def test_ops_endpoints_are_on_their_own_ports(
    stack: tuple[ServiceProcess, ServiceProcess, str], api: ApiClient, visitor: httpx.Client
) -> None:
    api_process, redirector_process, _ = stack
    for process in (api_process, redirector_process):
        assert httpx.get(f"{process.ops_url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{process.ops_url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "checks": {"postgres": True, "redis": True}}
    exposed = httpx.get(f"{redirector_process.ops_url}/metrics").text
    for name in (
        "shortlink_redirects_total",
        "shortlink_redirect_duration_seconds_bucket",
        "shortlink_events_total",
        "shortlink_cache_errors_total",
        "shortlink_local_cache_enabled 1.0",
        'shortlink_build_info{component="redirector",version="0.1.0"} 1.0',
        'shortlink_dependency_up{dependency="postgres"} 1.0',
        'shortlink_dependency_up{dependency="redis"} 1.0',
        'shortlink_unavailable_responses_total{dependency="postgres"} 0.0',
    ):
        assert name in exposed, name
    api_metrics = httpx.get(f"{api_process.ops_url}/metrics").text
    assert "shortlink_api_requests_total" in api_metrics
    assert 'shortlink_build_info{component="api",version="0.1.0"} 1.0' in api_metrics
    # The public ports don't answer them: there, "metrics" is just a code like any other.
    assert visitor.get("/metrics").status_code == 404
    assert visitor.get("/readyz").status_code == 404
    assert api.http.get("/metrics").status_code == 404
    assert api.http.get("/healthz").status_code == 404


def test_spec_covers_every_route(api: ApiClient) -> None:
    documented = {
        (path, method)
        for path, ops in api.spec["paths"].items()
        for method in ops
        if method != "parameters"
    }
    probed = {(p, m) for p, m in documented if p.startswith("/v1")}
    assert probed == documented
    assert {"/v1/urls", "/v1/urls/bulk", "/v1/urls/{code}", "/v1/urls/{code}/unlock"} <= {
        p for p, _ in documented
    }


def test_unlock_cookie_is_secure_when_the_public_base_url_is_https(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Issue 13, finding 7: TLS ends at the ingress, so the request itself is plain
    http; the cookie must still be Secure, following SHORTLINK_BASE_URL."""
    api, redirector, _ = start_stack(
        postgres_server, redis_server, tmp_path, SHORTLINK_BASE_URL="https://sho.example"
    )
    try:
        created = httpx.post(
            f"{api.base_url}/v1/urls",
            headers={"Authorization": f"Bearer {API_KEY}"},
            json={"original_url": "https://example.com/tls", "password": "pw-tls"},
        )
        code = created.json()["short_code"]
        unlocked = httpx.post(
            f"{redirector.base_url}/{code}", data={"password": "pw-tls"}, headers=HTML
        )
        assert unlocked.status_code == 303
        assert "secure" in unlocked.headers["set-cookie"].lower().split("; ")
        # Issue 19, finding 8: the 8-hour session cookie too, though this request is http.
        signed_in = httpx.post(f"{api.base_url}/v1/sessions", json={"api_key": API_KEY})
        assert signed_in.status_code == 201
        assert "secure" in signed_in.headers["set-cookie"].lower().split("; ")
    finally:
        redirector.stop()
        api.stop()


def test_public_ports_answer_no_ops_endpoint(
    stack: tuple[ServiceProcess, ServiceProcess, str],
) -> None:
    """Issue 13, finding 6 (ops ports by the `degraded` work): what the ingress routes
    to never reveals health, readiness or metrics."""
    for process in stack[:2]:
        for path in ("/metrics", "/readyz", "/healthz"):
            response = httpx.get(f"{process.base_url}{path}")
            assert response.status_code == 404, (process.name, path)
            assert "shortlink_" not in response.text


def test_a_proxy_in_front_with_proxies_count_0_is_logged(
    stack: tuple[ServiceProcess, ServiceProcess, str], visitor: httpx.Client
) -> None:
    """Issue 13, finding 4: the test client plays an ingress (loopback is private)."""
    redirector = stack[1]
    visitor.get("/nosuchcode", headers={"X-Forwarded-For": "81.2.69.142"})
    wait_for(
        "the proxy warning",
        lambda: "SHORTLINK_PROXIES_COUNT=0" in redirector.log() or None,
        10,
    )
