"""The few HTML pages the public sees: not found, expired, password form.

Served with the web UI's headers (http/page_headers.py): never framed (the
password form would be clickjacking bait), no script at all, only this inline
style (by its hash), and never cached (a 404 may be a link a minute later).
"""

from __future__ import annotations

from html import escape

from sanic.response import HTTPResponse, html

from shortlink.http.page_headers import content_security_policy, inline_source, page_headers

_STYLE = """
body{font-family:system-ui;max-width:32rem;margin:15vh auto;padding:0 1rem}
h1{font-size:1.4rem} .error{color:#b00020}
input,button{font-size:1rem;padding:.5rem;margin:.25rem 0}
input{width:100%;box-sizing:border-box}
"""
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>{style}</style></head><body><main>{body}</main></body></html>"""
HEADERS = {
    **page_headers(content_security_policy(style_src=inline_source(_STYLE), script_src="'none'")),
    "Cache-Control": "no-store",
}


def respond(page: str, status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    return html(page, status=status, headers={**HEADERS, **(headers or {})})


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=escape(title), style=_STYLE, body=body)


def not_found_page(code: str) -> str:
    return _page(
        "Link not found",
        f"<h1>Link not found</h1><p>There is no link at <code>/{escape(code)}</code>."
        " Check the address for typos.</p>",
    )


def expired_page(expired_on: str) -> str:
    return _page(
        "Link expired",
        f"<h1>This link has expired</h1><p>It stopped working on {escape(expired_on)}."
        " Ask whoever shared it for a new one.</p>",
    )


def limit_reached_page() -> str:
    return _page(
        "Link used up",
        "<h1>This link has been used up</h1><p>It could be opened a limited number of"
        " times, and all of them are taken. Ask whoever shared it for a new one.</p>",
    )


def unavailable_page() -> str:
    return _page(
        "Temporarily unavailable",
        "<h1>This link is temporarily unavailable</h1><p>We can't look it up right now."
        " Please try again in a few seconds.</p>",
    )


def password_page(code: str, error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "Password required",
        f"""<h1>This link is password-protected</h1>{message}
<form method="post" action="/{escape(code)}">
<label for="password">Password</label>
<input id="password" name="password" type="password"
 autocomplete="current-password" required autofocus>
<button type="submit">Continue</button>
</form>""",
    )
