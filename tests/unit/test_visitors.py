from __future__ import annotations

import pytest

from shortlink.domain import visitors
from shortlink.domain.visitors import (
    anonymize_ip,
    device_type,
    is_bot,
    is_human_click,
    normalize_ip,
    referrer_host,
    visitor_id,
)

SALT = b"0123456789abcdef0123456789abcdef"

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.6099.144 Mobile Safari/537.36"
)
GALAXY_TAB = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.0 Mobile/15E148 Safari/604.1"
)
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Mobile Safari/537.36"
)
FACEBOOK_IN_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0]"
)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("8.8.8.8", "8.8.8.0"),
        (" 10.1.2.3 ", "10.1.2.0"),
        ("::ffff:198.51.100.9", "198.51.100.0"),  # IPv4-mapped: anonymized as IPv4
        ("2001:db8:abcd:12:3456:789a:bcde:f012", "2001:db8:abcd::"),  # /48 kept
        ("2a03:2880:f10c:83:face:b00c:0:25de", "2a03:2880:f10c::"),
        ("::1", "::"),
        ("not an ip", ""),
        ("", ""),
        ("1.2.3.4:5678", ""),
    ],
)
def test_anonymize_ip(ip: str, expected: str) -> None:
    assert anonymize_ip(ip) == expected


def test_normalize_ip_unwraps_ipv4_mapped_and_canonicalises() -> None:
    assert normalize_ip("::FFFF:1.2.3.4") == "1.2.3.4"
    assert normalize_ip("2001:DB8:0:0:0:0:0:1") == "2001:db8::1"
    assert normalize_ip("garbage") == ""


def test_visitor_id_is_stable_64_bit_and_keyed() -> None:
    first = visitor_id("203.0.113.77", CHROME_WINDOWS, SALT)
    assert first == visitor_id("203.0.113.77", CHROME_WINDOWS, SALT)
    assert 0 <= first < 2**64
    assert first != visitor_id("203.0.113.78", CHROME_WINDOWS, SALT)
    assert first != visitor_id("203.0.113.77", PIXEL, SALT)
    assert first != visitor_id("203.0.113.77", CHROME_WINDOWS, b"another-salt-of-16-bytes")
    # the separator keeps (ip, ua) pairs apart that concatenate alike
    assert visitor_id("1.2.3.4", "5x", SALT) != visitor_id("1.2.3.45", "x", SALT)


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0;"
        " +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Twitterbot/1.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "Discordbot/2.0; +https://discordapp.com",
        "TelegramBot (like TwitterBot)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/120.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "python-httpx/0.27.0",
        "Go-http-client/1.1",
        "okhttp/4.12.0",
        "axios/1.6.2",
        "",
        "   ",
    ],
)
def test_bots_and_previews_and_scripts_are_bots(user_agent: str) -> None:
    assert is_bot(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [CHROME_WINDOWS, PIXEL, GALAXY_TAB, IPAD, CUBOT_PHONE, FACEBOOK_IN_APP],
)
def test_browsers_are_people(user_agent: str) -> None:
    assert not is_bot(user_agent)


def test_ua_parser_spider_family_is_a_bot_whatever_the_string() -> None:
    assert is_bot("SomeNewFetcher/1.0", device_family="Spider")
    assert not is_bot("SomeNewFetcher/1.0", device_family="Other")


@pytest.mark.parametrize(
    ("method", "bot", "human"),
    [
        ("GET", False, True),
        ("get", False, True),
        ("HEAD", False, False),
        ("GET", True, False),
        ("HEAD", True, False),
        ("POST", False, False),
    ],
)
def test_is_human_click(method: str, bot: bool, human: bool) -> None:
    assert is_human_click(method, bot) is human


@pytest.mark.parametrize(
    ("user_agent", "os_family", "device_family", "brand", "bot", "expected"),
    [
        (CHROME_WINDOWS, "Windows", "Other", "", False, "desktop"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)", "Mac OS X", "Mac", "Apple", False,
         "desktop"),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)", "Chrome OS", "Other", "", False, "desktop"),
        (PIXEL, "Android", "Pixel 8", "Google", False, "mobile"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148", "iOS", "iPhone",
         "Apple", False, "mobile"),
        (IPAD, "iOS", "iPad", "Apple", False, "tablet"),
        (GALAXY_TAB, "Android", "SM-X700", "Generic_Android_Tablet", False, "tablet"),
        ("Mozilla/5.0 (Linux; Android 12; KFTRWI) Silk/120.1", "Android", "Kindle", "Amazon",
         False, "tablet"),
        ("Googlebot/2.1", "Other", "Spider", "Spider", True, "bot"),
        ("SomeTV/1.0", "Other", "Other", "", False, "other"),
    ],
)  # fmt: skip
def test_device_type(
    user_agent: str, os_family: str, device_family: str, brand: str, bot: bool, expected: str
) -> None:
    assert device_type(user_agent, os_family, device_family, brand, bot) == expected
    assert expected in visitors.DEVICE_TYPES


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://www.Google.com/search?q=x", "google.com"),
        ("https://t.co/abc", "t.co"),
        ("http://news.ycombinator.com./item?id=1", "news.ycombinator.com"),
        ("android-app://com.slack/", "com.slack"),
        ("", ""),
        ("not a url", ""),
        ("http://[::1", ""),
    ],
)
def test_referrer_host(referrer: str, host: str) -> None:
    assert referrer_host(referrer) == host


def test_user_agents_are_clipped() -> None:
    assert len(visitors.clip_user_agent("x" * 10_000)) == visitors.MAX_USER_AGENT


@pytest.mark.parametrize(
    ("family", "kind"),
    [("iOS", "ios"), ("Android", "android"), ("Windows", "windows"), ("Mac OS X", "macos"),
     ("Ubuntu", "linux"), ("Linux", "linux"), ("Chrome OS", "other"), ("Windows Phone", "other"),
     ("Other", "other")],
)  # fmt: skip
def test_os_kinds(family, kind):
    assert visitors.os_kind(family) == kind


@pytest.mark.parametrize(
    ("family", "kind"),
    [("Chrome Mobile", "chrome"), ("Mobile Safari", "safari"), ("Firefox", "firefox"),
     ("Edge", "edge"), ("Samsung Internet", "samsung"), ("Opera Mini", "opera"), ("Lynx", "other")],
)  # fmt: skip
def test_browser_kinds(family, kind):
    assert visitors.browser_kind(family) == kind
