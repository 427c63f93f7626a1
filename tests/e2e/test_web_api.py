"""The /v1 additions the web UI is built on, usable by any client: browser
sessions with CSRF protection, alias availability, searching/filtering/sorting
the link list, QR codes and bulk dry runs. Real processes, checked against OpenAPI."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.e2e.conftest import ApiClient
from tests.harness.stack import API_KEY


def _mint_key(api: ApiClient, owner: str) -> str:
    response = api.call("POST", "/v1/api-keys", json={"name": "web", "owner": owner})
    assert response.status_code == 201
    return str(response.json()["key"])


def _browser(api: ApiClient) -> httpx.Client:
    """A cookie-keeping client that sends what a browser's same-origin fetch sends."""
    origin = str(api.http.base_url).rstrip("/")
    return httpx.Client(base_url=origin, timeout=10,
                        headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})  # fmt: skip


def test_session_cookie_stands_for_the_key_and_csrf_guards_writes(api: ApiClient) -> None:
    key = _mint_key(api, "web-session")
    with _browser(api) as browser:
        signed_in = browser.post("/v1/sessions", json={"api_key": key})
        api.check("POST", "/v1/sessions", signed_in)
        assert signed_in.status_code == 201
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        csrf = signed_in.json()["csrf_token"]
        assert signed_in.json()["owner"] == "web-session"
        assert key not in cookie  # the cookie is an opaque session id, not the key

        current = browser.get("/v1/sessions")
        api.check("GET", "/v1/sessions", current)
        assert current.json()["csrf_token"] == csrf

        body = {"original_url": "https://example.com/from-browser"}
        no_token = browser.post("/v1/urls", json=body)
        api.check("POST", "/v1/urls", no_token)
        assert no_token.status_code == 403 and no_token.json()["error"] == "CSRF_FAILED"
        wrong = browser.post("/v1/urls", json=body, headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        foreign = browser.post("/v1/urls", json=body, headers={
            "X-CSRF-Token": csrf, "Origin": "https://evil.example"})  # fmt: skip
        assert foreign.status_code == 403
        cross = browser.post("/v1/urls", json=body, headers={
            "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"})  # fmt: skip
        assert cross.status_code == 403

        made = browser.post("/v1/urls", json=body, headers={"X-CSRF-Token": csrf})
        api.check("POST", "/v1/urls", made)
        assert made.status_code == 201
        listed = browser.get("/v1/urls").json()["items"]
        assert [link["short_code"] for link in listed] == [made.json()["short_code"]]

        refused_out = browser.delete("/v1/sessions")
        assert refused_out.status_code == 403  # signing out needs the token too
        out = browser.delete("/v1/sessions", headers={"X-CSRF-Token": csrf})
        api.check("DELETE", "/v1/sessions", out)
        assert out.status_code == 204
        assert browser.get("/v1/urls").status_code == 401
        assert browser.get("/v1/sessions").status_code == 401


def test_old_cookie_is_dead_after_sign_out_and_revocation_ends_sessions(
    api: ApiClient,
) -> None:
    key = _mint_key(api, "web-revoke")
    with _browser(api) as browser:
        browser.post("/v1/sessions", json={"api_key": key})
        cookie = dict(browser.cookies)
        key_id = next(k["id"] for k in api.call("GET", "/v1/api-keys").json()["items"]
                      if k["owner"] == "web-revoke")  # fmt: skip
        assert browser.get("/v1/urls").status_code == 200
        api.call("DELETE", "/v1/api-keys/{key_id}", path={"key_id": key_id})
    with httpx.Client(base_url=api.http.base_url, cookies=cookie, timeout=10) as replay:
        # Revocation reaches sessions within the key cache's 5 s.
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while replay.get("/v1/urls").status_code != 401:
            assert datetime.now(UTC) < deadline, "revoked key's session still works"


def test_sign_in_refusals(api: ApiClient) -> None:
    bad = api.call("POST", "/v1/sessions", key=None, json={"api_key": "sl_nope"})
    assert bad.status_code == 401 and "set-cookie" not in bad.headers
    foreign = api.call("POST", "/v1/sessions", key=None, json={"api_key": API_KEY},
                       headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
    empty = api.call("POST", "/v1/sessions", key=None, json={})
    assert empty.status_code == 400


def test_alias_availability(api: ApiClient) -> None:
    free = api.call("GET", "/v1/aliases/{alias}", path={"alias": "web-free-alias"})
    assert free.json() == {"alias": "web-free-alias", "available": True, "suggestions": []}
    api.call("POST", "/v1/urls", json={"original_url": "https://e.com", "custom_alias": "web-x"})
    taken = api.call("GET", "/v1/aliases/{alias}", path={"alias": "web-x"}).json()
    assert taken["available"] is False and len(taken["suggestions"]) == 3
    for suggestion in taken["suggestions"]:
        again = api.call("GET", "/v1/aliases/{alias}", path={"alias": suggestion}).json()
        assert again["available"] is True
    bad = api.call("GET", "/v1/aliases/{alias}", path={"alias": "metrics"})
    assert bad.status_code == 400 and bad.json()["error"] == "INVALID_ALIAS"
    assert (
        api.call("GET", "/v1/aliases/{alias}", key=None, path={"alias": "abc"}).status_code == 401
    )


def test_list_with_clicks_stays_up_without_analytics(api: ApiClient) -> None:
    """This stack runs without ClickHouse: the list still answers, each clicks null."""
    key = _mint_key(api, "web-clicks")
    api.call("POST", "/v1/urls", key=key, json={"original_url": "https://example.com/c"})
    listed = api.call("GET", "/v1/urls", key=key, params={"include": "clicks"})
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    assert listed.json()["clicks"] is None
    bad = api.call("GET", "/v1/urls", key=key, params={"include": "everything"})
    assert bad.status_code == 400 and bad.json()["error"] == "INVALID_REQUEST"


def test_list_search_filters_sort_and_cursor(api: ApiClient) -> None:
    key = _mint_key(api, "web-list")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    made = {}
    for alias, extra in [
        ("lst-apple", {}),
        ("lst-banana", {"password": "pw"}),
        ("lst-cherry", {"expires_at": soon}),
        ("lst-date", {}),
        ("lst-Elder", {"original_url": "https://fruit.example/100%25_juice"}),
    ]:
        body = {"original_url": f"https://fruit.example/{alias}", "custom_alias": alias, **extra}
        response = api.call("POST", "/v1/urls", key=key, json=body)
        assert response.status_code == 201, response.text
        made[alias] = response.json()
    api.call("PATCH", "/v1/urls/{code}", key=key, path={"code": "lst-date"},
             json={"is_active": False})  # fmt: skip

    def codes(**params: str) -> list[str]:
        response = api.call("GET", "/v1/urls", key=key, params=params)
        assert response.status_code == 200, response.text
        return [link["short_code"] for link in response.json()["items"]]

    assert codes(q="AN") == ["lst-banana"]  # code, any case
    assert codes(q="%25_") == ["lst-Elder"]  # target; % and _ taken literally
    assert codes(q="%") == ["lst-Elder"]
    assert codes(status="protected") == ["lst-banana"]
    assert codes(status="inactive") == ["lst-date"]
    assert codes(sort="code") == ["lst-Elder", "lst-apple", "lst-banana", "lst-cherry", "lst-date"]
    assert codes(sort="-created_at")[0] == "lst-Elder"
    assert codes(sort="created_at")[0] == "lst-apple"

    # Keyset pages in code order, descending, with a filter: no overlap, no gap.
    seen, cursor = [], None
    while True:
        params = {"sort": "-code", "limit": "2", "q": "lst"}
        if cursor:
            params["cursor"] = cursor
        page = api.call("GET", "/v1/urls", key=key, params=params).json()
        seen += [link["short_code"] for link in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["lst-date", "lst-cherry", "lst-banana", "lst-apple", "lst-Elder"]

    deadline = datetime.fromisoformat(soon) + timedelta(seconds=1)
    while datetime.now(UTC) < deadline:
        pass
    assert codes(status="expired") == ["lst-cherry"]
    assert sorted(codes(status="active")) == ["lst-Elder", "lst-apple", "lst-banana"]

    for params in ({"status": "gone"}, {"sort": "target"}, {"q": "x" * 201}):
        bad = api.call("GET", "/v1/urls", key=key, params=params)
        assert bad.status_code == 400 and bad.json()["error"] == "INVALID_REQUEST", params


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_qr_code_decodes_to_the_short_url(api: ApiClient, kind: str) -> None:
    link = api.call("POST", "/v1/urls", json={"original_url": "https://example.com/qr"}).json()
    response = api.call("GET", "/v1/urls/{code}/qr", path={"code": link["short_code"]},
                        params={"format": kind, "size": "300"})  # fmt: skip
    assert response.status_code == 200
    if kind == "svg":
        assert response.headers["content-type"] == "image/svg+xml"
        assert response.text.startswith("<svg") and 'width="' in response.text
        return
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.width <= 300
    [decoded] = zxingcpp.read_barcodes(image)
    assert decoded.text == link["short_url"]


def test_qr_code_refusals(api: ApiClient) -> None:
    link = api.call("POST", "/v1/urls", json={"original_url": "https://example.com/q"}).json()
    path = {"code": link["short_code"]}
    for params in ({"format": "gif"}, {"size": "10"}, {"size": "5000"}, {"size": "big"}):
        bad = api.call("GET", "/v1/urls/{code}/qr", path=path, params=params)
        assert bad.status_code == 400 and bad.json()["error"] == "INVALID_REQUEST", params
    other = _mint_key(api, "web-qr-other")
    assert api.call("GET", "/v1/urls/{code}/qr", key=other, path=path).status_code == 404


def test_bulk_dry_run_creates_nothing(api: ApiClient) -> None:
    key = _mint_key(api, "web-bulk")
    api.call("POST", "/v1/urls", key=key,
             json={"original_url": "https://e.com", "custom_alias": "dry-taken"})  # fmt: skip
    items = [{"original_url": f"https://e.com/{i}"} for i in range(3)]
    ok = api.call("POST", "/v1/urls/bulk", key=key, params={"dry_run": "true"},
                  json={"urls": items})  # fmt: skip
    assert ok.status_code == 200 and ok.json() == {"valid": True, "count": 3}
    bad = [*items, {"original_url": "notaurl"}, {"original_url": "https://e.com",
                                                "custom_alias": "dry-taken"}]  # fmt: skip
    refused = api.call("POST", "/v1/urls/bulk", key=key, params={"dry_run": "true"},
                       json={"urls": bad})  # fmt: skip
    assert refused.status_code == 400
    assert [(i["index"], i["error"]) for i in refused.json()["invalid_urls"]] == [
        (3, "INVALID_URL")
    ]
    taken = api.call("POST", "/v1/urls/bulk", key=key, params={"dry_run": "1"},
                     json={"urls": [*items, bad[-1]]})  # fmt: skip
    [problem] = taken.json()["invalid_urls"]
    assert problem["index"] == 3 and problem["error"] == "ALIAS_TAKEN" and problem["suggestions"]
    listed = api.call("GET", "/v1/urls", key=key).json()["items"]
    assert [link["short_code"] for link in listed] == ["dry-taken"]


def test_web_ui_is_served_with_a_strict_policy(api: ApiClient) -> None:
    page = api.http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    script = api.http.get("/ui/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    again = api.http.get("/ui/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert api.http.get("/ui/vendor/countries-110m.json").json()["type"] == "Topology"
    assert api.http.get("/ui/nope.js").status_code == 404
    assert api.http.get("/ui/../../etc/passwd").status_code == 404
    assert api.http.get("/ui/index.html").status_code == 404  # the page is at / only


def test_web_ui_assets_are_fingerprinted_compressed_and_cached(api: ApiClient) -> None:
    page = api.http.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-encoding"] == "br" and page.headers["vary"] == "Accept-Encoding"
    [script] = re.findall(r'src="(/ui/app\.[0-9a-f]{10}\.js)"', page.text)
    [style] = re.findall(r'href="(/ui/app\.[0-9a-f]{10}\.css)"', page.text)
    for path in (script, style):
        for encoding in ("br", "gzip"):
            answer = api.http.get(path, headers={"Accept-Encoding": encoding})
            assert answer.status_code == 200, path
            assert answer.headers["content-encoding"] == encoding
            assert answer.headers["vary"] == "Accept-Encoding"
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert "script-src 'self'" in answer.headers["content-security-policy"]
            revalidate = {"Accept-Encoding": encoding, "If-None-Match": answer.headers["etag"]}
            again = api.http.get(path, headers=revalidate)
            assert again.status_code == 304 and again.headers["vary"] == "Accept-Encoding"
    plain = api.http.get(script, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content)
    # The module's own imports name fingerprinted modules too.
    assert re.search(r'from "\./shell\.[0-9a-f]{10}\.js"', plain.text)
    compressed = api.http.get(script, headers={"Accept-Encoding": "br"})
    assert int(compressed.headers["content-length"]) < len(plain.content) / 2
    assert api.http.get("/ui/app.js").headers["cache-control"] == "no-cache"
