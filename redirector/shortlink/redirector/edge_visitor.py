"""The facts a link's rules ask about, worked out from one request on first use only:
a rule on device never costs a GeoIP lookup, one on country never a user-agent parse,
and links without rules never build this at all.

What a fact is derived from repeats across requests (the same user agents, client
addresses, Referer and Accept-Language headers), so each derivation is memoised per
process in ``EdgeFacts``: a click pays dictionary lookups, not user-agent kinds, IP
parsing or URL splitting. Only the A/B bucket (a keyed hash of code and visitor) is
computed per request. ``EdgeVisitor`` keeps what it has looked up in plain slots
(``functools.cached_property`` takes a lock per first access).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

from sanic import Request

from shortlink.adapters.geoip import Geo, GeoIP
from shortlink.adapters.user_agents import UserAgentParser
from shortlink.domain import visitors
from shortlink.domain.accept_language import preferred_languages

MEMO_SIZE = 20_000  # distinct user agents / client addresses / referrers kept per process


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """What rules and click budgets ask of a user agent."""

    device: str  # visitors.DEVICE_TYPES
    os: str  # link_options.OPERATING_SYSTEMS
    browser: str  # link_options.BROWSERS
    is_bot: bool


@dataclass(frozen=True, slots=True)
class AddressFacts:
    """A client address as rules see it ("" / None when it isn't an IP)."""

    normalized: str  # visitors.normalize_ip: what GeoIP is asked
    anonymized: str  # visitors.anonymize_ip: the network part the A/B bucket keys on
    ip: IPv4Address | IPv6Address | None


class EdgeFacts:
    """Per-process memos of the facts derived from request headers and addresses."""

    def __init__(self, geoip: GeoIP, agents: UserAgentParser, size: int = MEMO_SIZE) -> None:
        self._geoip = geoip
        self._agents = agents
        self.agent = lru_cache(maxsize=size)(self._agent)
        self.address = lru_cache(maxsize=size)(self._address)
        self.referrer_host = lru_cache(maxsize=size)(visitors.referrer_host)
        self.languages = preferred_languages  # LRU-cached where it is defined

    def geo(self, ip: str) -> Geo:
        return self._geoip.lookup(ip)  # LRU-cached by the adapter

    def _agent(self, user_agent: str) -> AgentFacts:
        parsed = self._agents.parse(user_agent)
        bot = visitors.is_bot(user_agent, parsed.device_family)
        device = visitors.device_type(
            user_agent, parsed.os, parsed.device_family, parsed.device_brand, bot
        )
        return AgentFacts(
            device, visitors.os_kind(parsed.os), visitors.browser_kind(parsed.browser), bot
        )

    @staticmethod
    def _address(client_ip: str) -> AddressFacts:
        normalized = visitors.normalize_ip(client_ip)
        return AddressFacts(
            normalized,
            visitors.anonymize_ip(normalized),
            ipaddress.ip_address(normalized) if normalized else None,
        )


class EdgeVisitor:
    """Implements ``routing.Visitor`` over a Sanic request."""

    __slots__ = (
        "_address",
        "_agent",
        "_client_ip",
        "_code",
        "_facts",
        "_geo",
        "_query",
        "_request",
        "_salt",
        "_user_agent",
    )

    def __init__(
        self, request: Request, code: str, client_ip: str, facts: EdgeFacts, salt: bytes
    ) -> None:
        self._request = request
        self._code = code
        self._client_ip = client_ip
        self._facts = facts
        self._salt = salt
        self._user_agent = visitors.clip_user_agent(request.headers.get("user-agent", ""))
        self._agent: AgentFacts | None = None
        self._address: AddressFacts | None = None
        self._geo: Geo | None = None
        self._query: dict[str, str] | None = None

    def _agent_facts(self) -> AgentFacts:
        if self._agent is None:
            self._agent = self._facts.agent(self._user_agent)
        return self._agent

    def _address_facts(self) -> AddressFacts:
        if self._address is None:
            self._address = self._facts.address(self._client_ip)
        return self._address

    def _geo_facts(self) -> Geo:
        if self._geo is None:
            self._geo = self._facts.geo(self._address_facts().normalized)
        return self._geo

    @property
    def is_bot(self) -> bool:
        return self._agent_facts().is_bot

    @property
    def country(self) -> str:
        return self._geo_facts().country

    @property
    def city(self) -> str:
        return self._geo_facts().city.casefold()

    @property
    def device(self) -> str:
        return self._agent_facts().device

    @property
    def os(self) -> str:
        return self._agent_facts().os

    @property
    def browser(self) -> str:
        return self._agent_facts().browser

    @property
    def languages(self) -> tuple[str, ...]:
        return self._facts.languages(self._request.headers.get("accept-language", ""))

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            args = self._request.args.items()
            self._query = {name: values[0] for name, values in args if values}
        return self._query

    @property
    def ip(self) -> IPv4Address | IPv6Address | None:
        return self._address_facts().ip

    @property
    def referrer_host(self) -> str:
        return self._facts.referrer_host(self._request.headers.get("referer", ""))

    @property
    def sticky(self) -> int:
        anonymous = self._address_facts().anonymized
        return visitors.sticky_key(self._code, anonymous, self._user_agent, self._salt)
