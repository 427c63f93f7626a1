"""User agent → browser, OS and device families, with ua-parser (1.x) and its builtin rules.

ua-parser picks the fastest resolver installed: ``ua-parser-rs`` (native, ~10 µs a
miss) or ``google-re2``, else its pure-Python one (~0.7 ms a miss). Real traffic
repeats a small set of user agents, so an LRU cache in front absorbs nearly all of it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ua_parser import BestAvailableResolver, Domain, load_builtins

from shortlink.domain.visitors import clip_user_agent


@dataclass(frozen=True, slots=True)
class ParsedAgent:
    browser: str  # ua-parser's family names, "Other" when unknown
    os: str
    device_family: str  # "Spider" for crawlers
    device_brand: str


class UserAgentParser:
    def __init__(self, cache_size: int = 20_000) -> None:
        self._resolver = BestAvailableResolver(load_builtins())
        self.resolver_name = f"{type(self._resolver).__module__}.{type(self._resolver).__name__}"
        self.parse = functools.lru_cache(maxsize=cache_size)(self._parse)

    def _parse(self, user_agent: str) -> ParsedAgent:
        result = self._resolver(clip_user_agent(user_agent), Domain.ALL).complete()
        agent, os, device = result.user_agent, result.os, result.device
        return ParsedAgent(
            browser=agent.family if agent else "Other",
            os=os.family if os else "Other",
            device_family=device.family if device else "Other",
            device_brand=(device.brand or "") if device else "",
        )
