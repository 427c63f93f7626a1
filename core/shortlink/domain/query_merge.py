"""How a redirect's query string is built from the target, the link and the visitor.

The merge rule, in order, first writer of a key wins:
1. the target URL's own query, untouched;
2. the link's UTM parameters (``utm_source``, ``utm_medium``, ``utm_campaign``,
   ``utm_term``, ``utm_content``), then its other ``query_params``: appended, except
   keys the target already has — the target's author decided those;
3. only when the link has ``pass_query``: the visitor's own parameters, appended,
   except keys already present — a visitor can add ``?ref=newsletter`` but can never
   rewrite the link's attribution (``?utm_source=spam``) or the target's parameters.
   ``unlock_token`` (the redirector's own) never passes through.
The fragment stays last. Steps 1-2 are done once when a link is stored; only step 3
runs per click, and only for links that pass the query through.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode

NEVER_PASSED: frozenset[str] = frozenset({"unlock_token"})


def _split(url: str) -> tuple[str, str, str]:
    """(everything before '?', query, '#fragment' or '')."""
    head, hash_mark, fragment = url.partition("#")
    base, _, query = head.partition("?")
    return base, query, hash_mark + fragment


def _keys(query: str) -> set[str]:
    return {key for key, _ in parse_qsl(query, keep_blank_values=True)}


def append_params(url: str, params: Iterable[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended, skipping keys it already has (and repeats)."""
    base, query, fragment = _split(url)
    present = _keys(query)
    added = []
    for key, value in params:
        if key in present or key in NEVER_PASSED:
            continue
        present.add(key)
        added.append((key, value))
    if not added:
        return url
    extra = urlencode(added, quote_via=quote)
    return f"{base}?{query}&{extra}{fragment}" if query else f"{base}?{extra}{fragment}"


def pass_visitor_query(url: str, visitor_query: str) -> str:
    """Step 3: the visitor's raw query string merged into an already built target."""
    if not visitor_query:
        return url
    return append_params(url, parse_qsl(visitor_query, keep_blank_values=True))
