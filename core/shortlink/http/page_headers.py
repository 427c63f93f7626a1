"""Headers of every HTML page we serve (the web UI, the redirector's pages): no
framing, nothing run but the page's own files, no type sniffing, no referrer."""

from __future__ import annotations

import base64
import hashlib


def content_security_policy(style_src: str = "'self'", script_src: str = "'self'") -> str:
    return (
        f"default-src 'none'; script-src {script_src}; style-src {style_src}; "
        "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def inline_source(text: str) -> str:
    """A CSP source that allows exactly this inline <style>/<script> body."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def page_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
        "Cross-Origin-Opener-Policy": "same-origin",
    }
