"""Target-URL validation (seed flow 1, step 1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shortlink.domain.errors import InvalidUrl

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class UrlPolicy:
    """What targets we refuse. ``own_hosts`` are our short domains: linking to
    ourselves makes redirect loops and launders other short links."""

    blocked_domains: frozenset[str] = frozenset()
    own_hosts: frozenset[str] = frozenset()

    @classmethod
    def build(cls, blocked: Iterable[str], own: Iterable[str]) -> UrlPolicy:
        def norm(items: Iterable[str]) -> frozenset[str]:
            return frozenset(d.strip().lower().strip(".") for d in items if d.strip())

        return cls(blocked_domains=norm(blocked), own_hosts=norm(own))


def _host_matches(host: str, domains: frozenset[str]) -> bool:
    # "example.com" blocks itself and every subdomain, never "notexample.com".
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def validate_target_url(raw: object, policy: UrlPolicy) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidUrl("original_url must be a non-empty string")
    url = raw.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidUrl("URL must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidUrl(f"URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidUrl("Only http and https URLs can be shortened", scheme=scheme)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidUrl("URL must have a host")
    if _host_matches(host, policy.own_hosts):
        raise InvalidUrl("URLs on this shortener's own domain cannot be shortened")
    if _host_matches(host, policy.blocked_domains):
        raise InvalidUrl(f"The domain '{host}' is blocked", host=host)
    return url
