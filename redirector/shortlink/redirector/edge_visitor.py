"""The facts a link's rules ask about, worked out from one request on first use only:
a rule on device never costs a GeoIP lookup, one on country never a user-agent parse,
and links without rules never build this at all."""

from __future__ import annotations

from functools import cached_property, lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address

from sanic import Request

from shortlink.adapters.geoip import Geo, GeoIP
from shortlink.adapters.user_agents import ParsedAgent, UserAgentParser
from shortlink.domain import visitors
from shortlink.domain.accept_language import preferred_languages

# The bot patterns cost more than the rest of a limited link's redirect: once per agent.
_is_bot = lru_cache(maxsize=20_000)(visitors.is_bot)


class EdgeVisitor:
    """Implements ``routing.Visitor`` over a Sanic request."""

    def __init__(
        self,
        request: Request,
        code: str,
        client_ip: str,
        geoip: GeoIP,
        agents: UserAgentParser,
        salt: bytes,
    ) -> None:
        self._request = request
        self._code = code
        self._client_ip = visitors.normalize_ip(client_ip)
        self._geoip = geoip
        self._agents = agents
        self._salt = salt

    @cached_property
    def _user_agent(self) -> str:
        return visitors.clip_user_agent(self._request.headers.get("user-agent", ""))

    @cached_property
    def _agent(self) -> ParsedAgent:
        return self._agents.parse(self._user_agent)

    @cached_property
    def _geo(self) -> Geo:
        return self._geoip.lookup(self._client_ip)

    @cached_property
    def is_bot(self) -> bool:
        return _is_bot(self._user_agent, self._agent.device_family)

    @property
    def country(self) -> str:
        return self._geo.country

    @property
    def city(self) -> str:
        return self._geo.city.casefold()

    @cached_property
    def device(self) -> str:
        agent = self._agent
        return visitors.device_type(
            self._user_agent, agent.os, agent.device_family, agent.device_brand, self.is_bot
        )

    @property
    def os(self) -> str:
        return visitors.os_kind(self._agent.os)

    @property
    def browser(self) -> str:
        return visitors.browser_kind(self._agent.browser)

    @cached_property
    def languages(self) -> tuple[str, ...]:
        return preferred_languages(self._request.headers.get("accept-language", ""))

    @cached_property
    def query(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._request.args.items() if values}

    @cached_property
    def ip(self) -> IPv4Address | IPv6Address | None:
        return ip_address(self._client_ip) if self._client_ip else None

    @cached_property
    def referrer_host(self) -> str:
        return visitors.referrer_host(self._request.headers.get("referer", ""))

    @cached_property
    def sticky(self) -> int:
        anonymous = visitors.anonymize_ip(self._client_ip)
        return visitors.sticky_key(self._code, anonymous, self._user_agent, self._salt)
