"""The redirector's pages allow exactly their own inline style, and nothing else runs."""

from __future__ import annotations

import base64
import hashlib
import re

from shortlink.redirector import pages


def test_the_csp_allows_the_style_the_pages_carry_and_no_script() -> None:
    for page in (
        pages.password_page("abc", "Wrong password."),
        pages.not_found_page("abc"),
        pages.expired_page("2026-01-01"),
        pages.unavailable_page(),
    ):
        [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        csp = pages.HEADERS["Content-Security-Policy"]
        assert f"style-src 'sha256-{digest}'" in csp
        assert "script-src 'none'" in csp and "<script" not in page


def test_a_503_page_keeps_its_retry_after_beside_the_page_headers() -> None:
    response = pages.respond(pages.unavailable_page(), 503, {"Retry-After": "2"})
    assert response.status == 503
    assert response.headers["retry-after"] == "2"
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
