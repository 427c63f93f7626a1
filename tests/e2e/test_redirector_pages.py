"""Issue 19, finding 12: the redirector's HTML pages (password form, 404, 410) can't
be framed, run nothing but their own style, and are never cached."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import ApiClient

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _pages(api: ApiClient, visitor: httpx.Client) -> dict[str, httpx.Response]:
    protected = api.call(
        "POST", "/v1/urls", json={"original_url": "https://example.com/p12", "password": "pw-12"}
    ).json()["short_code"]
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    expiring = api.call(
        "POST", "/v1/urls", json={"original_url": "https://example.com/e12", "expires_at": soon}
    ).json()["short_code"]
    time.sleep(2.5)
    return {
        "password form": visitor.get(f"/{protected}", headers=HTML),
        "wrong password": visitor.post(f"/{protected}", data={"password": "no"}, headers=HTML),
        "empty password": visitor.post(f"/{protected}", data={}, headers=HTML),
        "not found": visitor.get("/nosuchcode12", headers=HTML),
        "expired": visitor.get(f"/{expiring}", headers=HTML),
    }


@pytest.fixture(scope="module")
def pages(api: ApiClient, visitor: httpx.Client) -> dict[str, httpx.Response]:
    return _pages(api, visitor)


@pytest.mark.parametrize(
    "page", ["password form", "wrong password", "empty password", "not found", "expired"]
)
def test_html_pages_cannot_be_framed_or_cached(pages: dict[str, httpx.Response], page: str) -> None:
    response = pages[page]
    assert response.headers["content-type"].startswith("text/html"), page
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, (page, csp)
    assert "default-src 'none'" in csp and "form-action 'self'" in csp, (page, csp)
    assert response.headers.get("x-frame-options") == "DENY", page
    assert response.headers.get("x-content-type-options") == "nosniff", page
    assert response.headers.get("cache-control") == "no-store", page
