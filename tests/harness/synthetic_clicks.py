"""Synthetic click traffic, for tests and benchmarks alike.

``insert_million_style`` fills ClickHouse directly (fast: generated inside the
engine); ``click_events`` makes realistic raw events for the bus, with a
heavy-tailed mix of user agents, addresses and referrers; ``click_row`` makes one
stored click for a test to vary.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import replace

from clickhouse_connect.driver.client import Client

from shortlink.adapters.clickhouse_batches import COLUMNS
from shortlink.domain.analytics import ClickRow
from shortlink.domain.clicks import ClickEvent

# The columns the generated SELECT fills; the later ones (rule_id, variant_id, tags:
# issue 22) take their defaults.
COLUMNS_BEFORE_RULES = COLUMNS[: COLUMNS.index("rule_id")]

_PORTLAND_CHROME = ClickRow(
    event_id="",
    code="abc1234",
    ts=0,
    method="GET",
    ip="203.0.113.0",
    visitor_id=0,
    country="US",
    city="Portland",
    lat=45.5,
    lon=-122.6,
    device="desktop",
    os="Windows",
    browser="Chrome",
    user_agent="Mozilla/5.0",
    referrer="https://www.google.com/",
    referrer_host="google.com",
    is_bot=False,
    is_human=True,
)


def click_row(n: int, ts: float, **fields: object) -> ClickRow:
    """Click ``ev-<n>`` by visitor ``n`` at ``ts``: a person on desktop Chrome in
    Portland from Google, unless ``fields`` say otherwise."""
    chosen = {"event_id": f"ev-{n}", "ts": ts, "visitor_id": n, **fields}
    return replace(_PORTLAND_CHROME, **chosen)  # type: ignore[arg-type]


USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "curl/8.5.0",
)
REFERRERS = ("", "", "https://www.google.com/", "https://t.co/x", "https://news.ycombinator.com/")


def click_events(
    count: int,
    codes: Sequence[str],
    *,
    start: float,
    rate: float = 10_000.0,
    seed: int = 7,
    prefix: str = "syn",
) -> Iterator[ClickEvent]:
    """``count`` events ``1/rate`` s apart from ``start``. Each distinct user agent
    gets a version suffix (≈3,000 distinct strings, as in real traffic) and
    addresses come from ≈50,000, both skewed so that caches see a realistic mix."""
    chance = random.Random(seed)
    for n in range(count):
        agent = USER_AGENTS[min(int(chance.expovariate(0.4)), len(USER_AGENTS) - 1)]
        if not agent.startswith(("curl", "Slackbot", "facebook", "Mozilla/5.0 (compatible")):
            agent = f"{agent} v{int(chance.paretovariate(1.2)) % 250}"
        address = int(chance.paretovariate(0.6)) % 50_000
        yield ClickEvent(
            event_id=f"{prefix}-{n}",
            code=codes[int(chance.paretovariate(1.0)) % len(codes)],
            timestamp=start + n / rate,
            ip=f"{(address >> 16) + 11}.{(address >> 8) & 255}.{address & 255}.7",
            user_agent=agent,
            referrer=chance.choice(REFERRERS),
            method="HEAD" if n % 50 == 1 else "GET",
        )


def insert_million_style(client: Client, code: str, count: int, start: int, days: int) -> None:
    """``count`` stored clicks of one link over ``days`` from ``start`` (epoch s):
    5 % bots, 2 % HEAD, 300k visitors, 60 countries, 600 cities, 200 referrers."""
    span_ms = days * 86_400_000
    client.command(
        f"""
        INSERT INTO clicks ({", ".join(COLUMNS_BEFORE_RULES)})
        SELECT
            concat('big-', toString(number)) AS event_id,
            '{code}' AS code,
            fromUnixTimestamp64Milli(
                toInt64({start * 1000} + (number * intDiv({span_ms}, {count})) % {span_ms}), 'UTC'
            ),
            if(number % 50 = 1, 'HEAD', 'GET') AS method,
            '198.51.100.0' AS ip,
            cityHash64(number % 300000) AS visitor_id,
            concat('C', toString(number % 60)) AS country,
            concat('City', toString(number % 600)) AS city,
            1.5 AS lat,
            2.5 AS lon,
            ['desktop', 'mobile', 'tablet'][number % 3 + 1] AS device,
            ['Windows', 'iOS', 'Android', 'Mac OS X'][number % 4 + 1] AS os,
            ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet'][number % 5 + 1],
            'Mozilla/5.0' AS user_agent,
            '' AS referrer,
            if(number % 7 = 0, '', concat('site', toString(number % 200), '.example')),
            number % 20 = 0 AS is_bot,
            number % 20 != 0 AND number % 50 != 1 AS is_human
        FROM numbers({count})
        """
    )
