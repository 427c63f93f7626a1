"""Target-URL validation (seed flow 1, step 1)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import idna

from shortlink.domain.errors import InvalidUrl
from shortlink.domain.text import is_storable

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
# What RFC 3986 allows in a path, query or fragment (pchar, "/", "?"), so quote() encodes
# only what a URI can't hold there: non-ASCII, and ASCII such as | " { } [ ] ^ ` # (a second
# "#", or brackets outside an IPv6 host). "%" stays: escapes are checked first.
_URI_SAFE = "/?@!$&'()*+,;=:-._~%"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class UrlPolicy:
    """What targets we refuse. ``own_hosts`` are our short domains: linking to
    ourselves makes redirect loops and launders other short links."""

    blocked_domains: frozenset[str] = frozenset()
    own_hosts: frozenset[str] = frozenset()

    @classmethod
    def build(cls, blocked: Iterable[str], own: Iterable[str]) -> UrlPolicy:
        """Domains in the form hosts are compared in: a domain given in Unicode
        ("bücher.de", fullwidth letters) is IDNA-encoded. InvalidUrl for one that isn't a
        domain name."""

        def norm(items: Iterable[str]) -> frozenset[str]:
            return frozenset(canonical_host(d.strip().lstrip(".")) for d in items if d.strip())

        return cls(blocked_domains=norm(blocked), own_hosts=norm(own))


def _host_matches(host: str, domains: frozenset[str]) -> bool:
    # "example.com" blocks itself and every subdomain, never "notexample.com".
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def canonical_host(host: str) -> str:
    """The host a browser will actually visit, as browsers compute it (WHATWG URL's
    domain-to-ASCII: UTS #46 non-transitional mapping, punycode per label), without
    its trailing dots: "EVIL.com。" and "evil.com." are both "evil.com".

    The order matters: the mapping turns the ideographic, fullwidth and halfwidth
    full stops (U+3002, U+FF0E, U+FF61) into ".", so trailing dots are stripped only after it."""
    if ":" in host:  # an IPv6 literal: nothing to map
        return host.lower()
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        labels = mapped.rstrip(".").split(".")
        if not all(labels):
            raise InvalidUrl("URL host is not a valid domain name")
        return ".".join(
            label if label.isascii() else idna.alabel(label).decode("ascii") for label in labels
        )
    except (idna.IDNAError, UnicodeError):
        raise InvalidUrl("URL host is not a valid domain name") from None


def _as_uri(parts: SplitResult, host: str) -> str:
    """A URI for the Location header and the API: punycode host, and path, query and
    fragment %-encoded where they hold what a URI can't."""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    path, query, fragment = (
        quote(x, safe=_URI_SAFE) for x in (parts.path, parts.query, parts.fragment)
    )
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _needs_encoding(parts: SplitResult) -> bool:
    rest = parts.path + parts.query + parts.fragment
    return not rest.isascii() or quote(rest, safe=_URI_SAFE) != rest


def validate_target_url(raw: object, policy: UrlPolicy) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidUrl("original_url must be a non-empty string")
    url = raw.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    if not is_storable(url) or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise InvalidUrl("URL must not contain whitespace or control characters")
    if _BAD_ESCAPE.search(url):
        raise InvalidUrl(
            "URL has a malformed percent-escape: '%' must be followed by two hex digits"
        )
    if "\\" in url:
        # Browsers read '\\' as '/', so the host we'd check isn't the one they'd visit.
        raise InvalidUrl("URL must not contain backslashes")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidUrl(f"URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidUrl("Only http and https URLs can be shortened", scheme=scheme)
    host = parts.hostname or ""
    if not host.strip("."):
        raise InvalidUrl("URL must have a host")
    if "%" in host:
        raise InvalidUrl("URL host must not be percent-encoded")
    host = canonical_host(host)
    if _host_matches(host, policy.own_hosts):
        raise InvalidUrl("URLs on this shortener's own domain cannot be shortened")
    if _host_matches(host, policy.blocked_domains):
        raise InvalidUrl(f"The domain '{host}' is blocked", host=host)
    if parts.username is not None or parts.password is not None:
        # "https://bank.com@evil.example/" reads as bank.com to people: a phishing staple.
        raise InvalidUrl("URLs with embedded credentials cannot be shortened")
    if parts.netloc.isascii() and not _needs_encoding(parts):
        return url
    return _as_uri(parts, host)
