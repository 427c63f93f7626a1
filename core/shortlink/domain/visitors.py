"""Who clicked: privacy-safe IPs, visitor ids, bots and link previews, device types.

Pure rules over strings; the adapters supply GeoIP and user-agent parsing.

Bots (stored, never counted as human clicks) are:
- anything ua-parser classifies as a ``Spider`` (search crawlers and most preview
  fetchers: Googlebot, bingbot, Slackbot, Twitterbot, facebookexternalhit,
  WhatsApp, Discordbot, TelegramBot, LinkedInBot, ...);
- user agents naming a crawler or preview fetcher explicitly (``bot``, ``crawler``,
  ``spider``, ``preview``, ``externalhit``, headless browsers, uptime monitors), in
  case ua-parser's rules lag behind;
- command-line tools and HTTP libraries (curl, wget, python-requests, httpx, Go's and
  Java's HTTP clients, okhttp, axios, node-fetch, ...): people click links in
  browsers, scripts fetch them;
- an empty user agent.
In-app browsers (Facebook's FBAN/FBAV, Instagram, LinkedIn app) are people, not bots.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

DESKTOP: Final = "desktop"
MOBILE: Final = "mobile"
TABLET: Final = "tablet"
BOT: Final = "bot"
OTHER: Final = "other"
DEVICE_TYPES: Final = (DESKTOP, MOBILE, TABLET, BOT, OTHER)

MAX_USER_AGENT: Final = 512  # longer is abuse: it would only bloat caches and storage

# "bot" as a word ending (Googlebot/2.1, TelegramBot (like ...), Slackbot-LinkExpanding)
# but not the Cubot phone brand; plus explicit crawler, preview and tool markers.
_BOT_RE: Final = re.compile(
    r"(?<!cu)bot(?:$|[^a-z])|crawl|spider|slurp|externalhit|facebookcatalog|meta-externalagent"
    r"|preview|whatsapp/|embedly|headless|phantomjs|lighthouse|pingdom|uptimerobot|statuscake"
    r"|^curl/|^wget/|^python-|^python/|^httpx/|^aiohttp/|^go-http-client|^java/|^okhttp"
    r"|^apache-httpclient|^libwww-perl|^node-fetch|^axios/|^undici|^got \(|^ruby|^php/"
    r"|^powershell|^postmanruntime/|^insomnia/|^httpie/|^scrapy|^guzzlehttp",
    re.IGNORECASE,
)

_MOBILE_OS: Final = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "Symbian OS"}
)
_DESKTOP_OS: Final = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Red Hat",
        "SUSE",
        "Mint",
        "Gentoo",
        "Arch Linux",
    }
)
_TABLET_RE: Final = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (?:7|9|10)", re.I)


def is_bot(user_agent: str, device_family: str = "") -> bool:
    """A crawler, link-preview fetcher or script, by its user agent (see the module doc)."""
    if not user_agent.strip() or device_family == "Spider":
        return True
    return _BOT_RE.search(user_agent) is not None


def is_human_click(method: str, bot: bool) -> bool:
    """Only a browser's GET is a click a person made: HEAD is a probe, bots are bots."""
    return not bot and method.upper() == "GET"


def device_type(
    user_agent: str, os_family: str, device_family: str, device_brand: str, bot: bool
) -> str:
    """``desktop``/``mobile``/``tablet``/``bot``/``other`` from ua-parser's families."""
    if bot:
        return BOT
    if _TABLET_RE.search(device_family) or _TABLET_RE.search(device_brand):
        return TABLET
    if os_family == "iOS" and "iPad" in user_agent:
        return TABLET
    # Android tablets leave "Mobile" out of their user agent (Google's guidance).
    if os_family == "Android" and "Mobile" not in user_agent:
        return TABLET
    if os_family in _MOBILE_OS or "Mobi" in user_agent:
        return MOBILE
    if os_family in _DESKTOP_OS:
        return DESKTOP
    return OTHER


def anonymize_ip(ip: str) -> str:
    """The network part only: IPv4 last octet zeroed, IPv6 last 80 bits zeroed.
    An IPv4-mapped IPv6 address is treated as the IPv4 it carries. "" if not an IP."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(address) & 0xFFFF_FF00))
    return str(ipaddress.IPv6Address(int(address) & ~((1 << 80) - 1)))


def normalize_ip(ip: str) -> str:
    """The canonical spelling of an IP (IPv4-mapped IPv6 as IPv4); "" if not an IP."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def visitor_id(ip: str, user_agent: str, salt: bytes) -> int:
    """A stable 64-bit id for (IP, user agent): unique visitors are countable without
    keeping the raw IP. Keyed BLAKE2b, so without the secret salt the ids can't be
    reversed by hashing every IPv4 address."""
    digest = hashlib.blake2b(
        f"{ip}\x00{user_agent}".encode(errors="replace"), digest_size=8, key=salt[:64]
    ).digest()
    return int.from_bytes(digest, "big")


def referrer_host(referrer: str) -> str:
    """The referring site for "top referrers": lower-case host without ``www.``;
    "" for none (direct traffic) or something that isn't an absolute URL."""
    if not referrer:
        return ""
    try:
        host = urlsplit(referrer.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host.removeprefix("www.")


def clip_user_agent(user_agent: str) -> str:
    return user_agent[:MAX_USER_AGENT]


# ua-parser's families → the names rules use (link_options.OPERATING_SYSTEMS, BROWSERS).
_OS_KINDS: Final = {"iOS": "ios", "iPadOS": "ios", "Android": "android", "Mac OS X": "macos"}
_BROWSER_KINDS: Final = {
    "Chrome": "chrome",
    "Chrome Mobile": "chrome",
    "Chrome Mobile iOS": "chrome",
    "Chrome Mobile WebView": "chrome",
    "Chromium": "chrome",
    "Firefox": "firefox",
    "Firefox Mobile": "firefox",
    "Firefox iOS": "firefox",
    "Safari": "safari",
    "Mobile Safari": "safari",
    "Mobile Safari UI/WKWebView": "safari",
    "Edge": "edge",
    "Edge Mobile": "edge",
    "Opera": "opera",
    "Opera Mobile": "opera",
    "Opera Mini": "opera",
    "Samsung Internet": "samsung",
}


def os_kind(os_family: str) -> str:
    """``ios``/``android``/``windows``/``macos``/``linux``/``other``."""
    if os_family in _OS_KINDS:
        return _OS_KINDS[os_family]
    if os_family.startswith("Windows") and os_family != "Windows Phone":
        return "windows"
    if os_family in _DESKTOP_OS and os_family not in {"Chrome OS", "FreeBSD", "OpenBSD", "NetBSD"}:
        return "linux"
    return "other"


def browser_kind(browser_family: str) -> str:
    """``chrome``/``firefox``/``safari``/``edge``/``opera``/``samsung``/``other``."""
    return _BROWSER_KINDS.get(browser_family, "other")


def sticky_key(code: str, anonymized_ip: str, user_agent: str, salt: bytes) -> int:
    """The number an A/B split buckets a visitor by: keyed BLAKE2b of the link's code
    and the anonymised visitor (network part of the IP, user agent). One person keeps
    one variant without a cookie; without the secret nobody can steer their bucket,
    and the code makes a visitor's bucket independent from link to link."""
    keyed = _keyed_blake2b(salt).copy()  # a copy of a keyed state: no re-keying per click
    keyed.update(f"{code}\x00{anonymized_ip}\x00{user_agent}".encode(errors="replace"))
    return int.from_bytes(keyed.digest(), "big")


@lru_cache(maxsize=8)
def _keyed_blake2b(salt: bytes) -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=8, key=salt[:64], person=b"ab-split")
