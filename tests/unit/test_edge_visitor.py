"""The redirector's visitor: the facts it memoises per process are the ones the pure
functions give, and a request pays each derivation once at most."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from sanic import Request
from sanic.compat import Header

from shortlink.adapters.geoip import GeoIP
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.domain import visitors
from shortlink.redirector.edge_visitor import EdgeFacts, EdgeVisitor

SALT = b"s" * 32
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


@pytest.fixture(scope="module")
def agents() -> UserAgentParser:
    return UserAgentParser()


@pytest.fixture(scope="module")
def geoip() -> GeoIP:
    found = GeoIP()
    if not found.available:
        pytest.skip("no GeoIP database installed")
    return found


def request(path: str = "/abc", **headers: str) -> Request:
    return Request(path.encode(), Header(headers), "1.1", "GET", None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("agent", [IPHONE, FIREFOX_LINUX, "curl/8.5.0", ""])
def test_agent_facts_are_the_pure_functions_answers(agents: UserAgentParser, agent: str) -> None:
    facts = EdgeFacts(GeoIP(None), agents)
    visitor = EdgeVisitor(request(**{"user-agent": agent}), "abc", "", facts, SALT)
    parsed = agents.parse(agent)
    bot = visitors.is_bot(agent, parsed.device_family)
    device = visitors.device_type(agent, parsed.os, parsed.device_family, parsed.device_brand, bot)
    assert (visitor.device, visitor.os, visitor.browser, visitor.is_bot) == (
        device,
        visitors.os_kind(parsed.os),
        visitors.browser_kind(parsed.browser),
        bot,
    )


def test_address_facts_normalise_an_ipv4_mapped_client(geoip: GeoIP) -> None:
    facts = EdgeFacts(geoip, UserAgentParser())
    mapped = EdgeVisitor(request(), "abc", "::ffff:81.2.69.142", facts, SALT)
    assert mapped.ip == ip_address("81.2.69.142")
    assert mapped.country == "GB" and mapped.city == "london"
    expected = visitors.sticky_key("abc", "81.2.69.0", "", SALT)
    assert mapped.sticky == expected


def test_no_address_means_no_ip_no_country() -> None:
    facts = EdgeFacts(GeoIP(None), UserAgentParser())
    visitor = EdgeVisitor(request(), "abc", "unknown", facts, SALT)
    assert visitor.ip is None and visitor.country == "" and visitor.city == ""
    assert visitor.sticky == visitors.sticky_key("abc", "", "", SALT)


def test_headers_give_languages_referrer_and_query() -> None:
    facts = EdgeFacts(GeoIP(None), UserAgentParser())
    visitor = EdgeVisitor(
        request(
            "/abc?ref=nl&x=1&x=2",
            **{"accept-language": "en;q=0.5, de-AT", "referer": "https://www.News.example/a"},
        ),
        "abc",
        "192.0.2.1",
        facts,
        SALT,
    )
    assert visitor.languages == ("de-at", "en")
    assert visitor.referrer_host == "news.example"
    assert visitor.query == {"ref": "nl", "x": "1"}


def test_each_derivation_is_paid_once_per_process(agents: UserAgentParser) -> None:
    facts = EdgeFacts(GeoIP(None), agents)
    for code in ("a", "b", "c"):
        visitor = EdgeVisitor(request(**{"user-agent": IPHONE}), code, "192.0.2.7", facts, SALT)
        assert visitor.device == "mobile" and visitor.os == "ios" and visitor.sticky > 0
    assert facts.agent.cache_info().misses == 1 and facts.agent.cache_info().hits == 2
    assert facts.address.cache_info().misses == 1 and facts.address.cache_info().hits == 2
