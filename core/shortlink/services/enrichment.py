"""Click enrichment: a raw ClickEvent becomes the ClickRow stored in ClickHouse.

The raw IP is used for the GeoIP lookup and the visitor id only; the row keeps the
anonymized IP unless ``keep_raw_ip``. Per-IP and per-user-agent work is cached (LRU),
so the steady-state cost per event is a few dictionary hits and one BLAKE2b.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from shortlink.adapters.geoip import Geo, GeoIP
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.domain import visitors
from shortlink.domain.analytics import ClickRow
from shortlink.domain.clicks import ClickEvent

MAX_REFERRER = 2048


@dataclass(frozen=True, slots=True)
class _Agent:
    user_agent: str  # clipped
    browser: str
    os: str
    device: str
    is_bot: bool


@dataclass(frozen=True, slots=True)
class _Client:
    ip: str  # normalized raw IP ("" if unusable)
    stored_ip: str  # what the row keeps
    geo: Geo


class ClickEnricher:
    def __init__(
        self,
        geoip: GeoIP,
        user_agents: UserAgentParser,
        salt: bytes,
        *,
        keep_raw_ip: bool = False,
        cache_size: int = 100_000,
    ) -> None:
        if len(salt) < 16:
            raise ValueError("the visitor-id salt must be at least 16 bytes")
        self._geoip = geoip
        self._user_agents = user_agents
        self._salt = salt
        self._keep_raw_ip = keep_raw_ip
        self._agent = functools.lru_cache(maxsize=cache_size)(self._agent_uncached)
        self._client = functools.lru_cache(maxsize=cache_size)(self._client_uncached)

    def _agent_uncached(self, user_agent: str) -> _Agent:
        clipped = visitors.clip_user_agent(user_agent)
        parsed = self._user_agents.parse(clipped)
        bot = visitors.is_bot(clipped, parsed.device_family)
        device = visitors.device_type(
            clipped, parsed.os, parsed.device_family, parsed.device_brand, bot
        )
        return _Agent(clipped, parsed.browser, parsed.os, device, bot)

    def _client_uncached(self, ip: str) -> _Client:
        normalized = visitors.normalize_ip(ip)
        stored = normalized if self._keep_raw_ip else visitors.anonymize_ip(normalized)
        return _Client(normalized, stored, self._geoip.lookup(normalized))

    def enrich(self, event: ClickEvent) -> ClickRow:
        agent = self._agent(event.user_agent)
        client = self._client(event.ip)
        geo = client.geo
        method = event.method.upper()
        referrer = event.referrer[:MAX_REFERRER]
        return ClickRow(
            event_id=event.event_id,
            code=event.code,
            ts=event.timestamp,
            method=method,
            ip=client.stored_ip,
            visitor_id=visitors.visitor_id(client.ip, agent.user_agent, self._salt),
            country=geo.country,
            city=geo.city,
            lat=geo.lat,
            lon=geo.lon,
            device=agent.device,
            os=agent.os,
            browser=agent.browser,
            user_agent=agent.user_agent,
            referrer=referrer,
            referrer_host=_referrer_host(referrer),
            is_bot=agent.is_bot,
            is_human=visitors.is_human_click(method, agent.is_bot),
            rule_id=event.rule_id,
            variant_id=event.variant_id,
            tags=event.tags,
        )

    def enrich_many(self, events: Iterable[ClickEvent]) -> list[ClickRow]:
        enrich = self.enrich
        return [enrich(event) for event in events]


_referrer_host = functools.lru_cache(maxsize=50_000)(visitors.referrer_host)
