"""The click a redirect reports holds what the request said, field by field: the
redirector builds ClickEvent positionally (cheaper per click), so a swapped field
would only show here or downstream in analytics."""

from __future__ import annotations

import asyncio
import time

from sanic import Request
from sanic.compat import Header

from shortlink.adapters.geoip import GeoIP
from shortlink.adapters.local_cache import LocalCache
from shortlink.domain.clicks import ClickEvent
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import own_url
from shortlink.domain.links import Destination
from shortlink.domain.urls import UrlPolicy
from shortlink.http.forwarded import forwarded_client
from shortlink.redirector.app import Redirects
from shortlink.services.resolver import LinkResolver

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
HEADERS = {
    "X-Forwarded-For": "81.2.69.142",
    "User-Agent": AGENT,
    "Referer": "https://news.example/story",
}


class Recorded:
    def __init__(self) -> None:
        self.events: list[ClickEvent] = []

    def emit(self, event: ClickEvent) -> None:
        self.events.append(event)


def _redirects(local: LocalCache) -> tuple[Redirects, Recorded]:
    handlers = Redirects("k" * 32, lambda r: forwarded_client(r.headers, 1, "x-forwarded-for"))
    sink = Recorded()
    resolver = LinkResolver(local, None, None, 1.0, None)  # type: ignore[arg-type]
    handlers.attach(resolver, sink, None, None, GeoIP())  # type: ignore[arg-type]
    return handlers, sink


def _request(method: str = "GET") -> Request:
    return Request(b"/x", Header(HEADERS), "1.1", method, None, None)  # type: ignore[arg-type]


def test_a_plain_links_click_holds_the_request() -> None:
    local = LocalCache(10, 60.0)
    local.reset(True)
    local.put("plain1", Destination("https://example.com/p", 302, None, None, tags=("spring",)),
              local.generation)  # fmt: skip
    handlers, sink = _redirects(local)
    before = time.time()
    assert asyncio.run(handlers.redirect(_request(), "plain1")).status == 302
    assert asyncio.run(handlers.redirect(_request("HEAD"), "plain1")).status == 302
    first, second = sink.events
    assert (first.code, first.ip, first.user_agent, first.referrer, first.method) == (
        "plain1", "81.2.69.142", AGENT, "https://news.example/story", "GET"
    )  # fmt: skip
    assert (first.rule_id, first.variant_id, first.tags) == ("", "", ("spring",))
    assert before <= first.timestamp <= time.time()
    assert second.method == "HEAD"
    assert first.event_id != second.event_id


def test_a_routed_links_click_names_the_rule_and_variant_that_served_it() -> None:
    options = parse_link_options(
        {
            "rules": [{"id": "news", "conditions": {"referrer_host": ["news.example"]},
                       "action": {"variants": [
                           {"id": "a", "target": "https://example.com/a", "weight": 1},
                           {"id": "b", "target": "https://example.com/b", "weight": 1}]}}],
        },
        UrlPolicy(),
    )  # fmt: skip
    local = LocalCache(10, 60.0)
    local.reset(True)
    target = own_url(options, "https://example.com/r")
    local.put("routed1", Destination(target, 302, None, None, options, tags=("a", "b")),
              local.generation)  # fmt: skip
    handlers, sink = _redirects(local)
    response = asyncio.run(handlers.redirect(_request(), "routed1"))
    assert response.status == 302
    [event] = sink.events
    assert (event.code, event.ip, event.user_agent, event.referrer, event.method) == (
        "routed1", "81.2.69.142", AGENT, "https://news.example/story", "GET"
    )  # fmt: skip
    location = dict(response.processed_headers)[b"Location"].decode()
    served = location.rsplit("/", 1)[1]  # the variant's id is its target's last segment
    assert (event.rule_id, event.variant_id, event.tags) == ("news", served, ("a", "b"))
