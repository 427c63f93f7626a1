"""Enrichment on the real parts: the shipped DB-IP database and ua-parser's rules."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shortlink.adapters.geoip import UNKNOWN, GeoIP, default_database
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.domain.clicks import ClickEvent
from shortlink.services.enrichment import ClickEnricher

SALT = b"integration-salt-0123456789abcdef"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(scope="module")
def geoip() -> GeoIP:
    return GeoIP()


@pytest.fixture(scope="module")
def enricher(geoip: GeoIP) -> ClickEnricher:
    return ClickEnricher(geoip, UserAgentParser(), SALT)


def _event(**fields: object) -> ClickEvent:
    base: dict[str, object] = {
        "event_id": "e1",
        "code": "abc1234",
        "timestamp": 1_709_632_800.5,
        "ip": "81.2.69.160",
        "user_agent": CHROME,
        "referrer": "https://www.reddit.com/r/x",
        "method": "GET",
    }
    base.update(fields)
    return ClickEvent(**base)  # type: ignore[arg-type]


def test_default_database_is_the_shipped_dbip_lite(geoip: GeoIP) -> None:
    assert default_database() is not None
    assert geoip.available
    assert "DBIP" in geoip.database_type or "City" in geoip.database_type


def test_geoip_lookups(geoip: GeoIP) -> None:
    london = geoip.lookup("81.2.69.160")
    assert (london.country, london.city) == ("GB", "London")
    assert london.lat is not None and 51 < london.lat < 52
    assert london.lon is not None and -1 < london.lon < 1
    assert geoip.lookup("2a03:2880:f10c:83:face:b00c:0:25de").country == "DE"
    assert geoip.lookup("10.0.0.1") == UNKNOWN  # private: not in the database
    assert geoip.lookup("not-an-ip") == UNKNOWN
    assert geoip.lookup("") == UNKNOWN


def test_missing_database_warns_once_and_leaves_geo_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shortlink.adapters.geoip"):
        missing = GeoIP(tmp_path / "nope.mmdb")
        assert not missing.available
        assert missing.lookup("81.2.69.160") == UNKNOWN
        assert missing.lookup("8.8.8.8") == UNKNOWN
    assert len([r for r in caplog.records if r.name == "shortlink.adapters.geoip"]) == 1


def test_garbage_database_file_is_survivable(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_bytes(b"this is not an mmdb file" * 10)
    assert GeoIP(bogus).lookup("81.2.69.160") == UNKNOWN


def test_user_agent_parser_families() -> None:
    parser = UserAgentParser()
    chrome = parser.parse(CHROME)
    assert (chrome.browser, chrome.os) == ("Chrome", "Windows")
    iphone = parser.parse(IPHONE)
    assert (iphone.browser, iphone.os, iphone.device_family) == ("Mobile Safari", "iOS", "iPhone")
    assert parser.parse("Twitterbot/1.0").device_family == "Spider"
    assert parser.parse(CHROME) is chrome  # cached


def test_enrich_a_browser_click(enricher: ClickEnricher) -> None:
    row = enricher.enrich(_event())
    assert row.ip == "81.2.69.0"  # anonymized
    assert (row.country, row.city) == ("GB", "London")
    assert (row.device, row.os, row.browser) == ("desktop", "Windows", "Chrome")
    assert row.referrer_host == "reddit.com"
    assert row.is_human and not row.is_bot
    assert row.ts == 1_709_632_800.5
    # same person, same id; another user agent from the same IP is another visitor
    assert enricher.enrich(_event(event_id="e2")).visitor_id == row.visitor_id
    assert enricher.enrich(_event(user_agent=IPHONE)).visitor_id != row.visitor_id
    assert enricher.enrich(_event(user_agent=IPHONE)).device == "mobile"


def test_previews_head_and_scripts_are_not_human(enricher: ClickEnricher) -> None:
    slack = enricher.enrich(
        _event(user_agent="Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
    )
    assert slack.is_bot and not slack.is_human and slack.device == "bot"
    head = enricher.enrich(_event(method="head"))
    assert head.method == "HEAD" and not head.is_bot and not head.is_human
    assert enricher.enrich(_event(user_agent="curl/8.5.0")).is_bot


def test_ipv6_and_bad_ips(enricher: ClickEnricher) -> None:
    v6 = enricher.enrich(_event(ip="2a03:2880:f10c:83:face:b00c:0:25de"))
    assert v6.ip == "2a03:2880:f10c::" and v6.country == "DE"
    bad = enricher.enrich(_event(ip="unknown"))
    assert bad.ip == "" and bad.country == "" and bad.lat is None


def test_keep_raw_ip_option(geoip: GeoIP) -> None:
    raw = ClickEnricher(geoip, UserAgentParser(), SALT, keep_raw_ip=True)
    assert raw.enrich(_event(ip="::ffff:81.2.69.160")).ip == "81.2.69.160"


def test_salt_must_be_long_enough(geoip: GeoIP) -> None:
    with pytest.raises(ValueError, match="salt"):
        ClickEnricher(geoip, UserAgentParser(), b"short")
