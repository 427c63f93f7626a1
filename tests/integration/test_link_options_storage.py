# ruff: noqa: E501  (the document reads best as written)
"""Link options in PostgreSQL and the caches: stored as one document, read back equal,
carried compiled by the Redis entry, cleared by an update."""

from __future__ import annotations

from uuid import uuid4

from shortlink.adapters.local_cache import LocalCache
from shortlink.domain.link_option_parsing import parse_link_options
from shortlink.domain.link_options import NO_OPTIONS
from shortlink.domain.links import NewLink
from shortlink.domain.urls import UrlPolicy
from shortlink.services.resolver import LinkResolver
from shortlink.wiring import Backends

DOCUMENT = {
    "rules": [
        {"conditions": {"country": ["DE"], "language": ["de"]}, "action": {"target": "https://de.example/"}},
        {"conditions": {"device": ["mobile"]}, "action": {"variants": [
            {"target": "https://a.example/", "weight": 1}, {"target": "https://b.example/", "weight": 2}]}},
    ],
    "max_clicks": 100,
    "valid_from": "2026-01-01T00:00:00Z",
    "fallbacks": {"exhausted": "https://sold.example/"},
    "utm": {"source": "nl", "campaign": "spring"},
    "pass_query": True,
    "tags": ["spring", "email"],
    "folder": "marketing/2026",
}  # fmt: skip


async def test_options_round_trip_through_postgres_and_both_caches(backends: Backends):
    options = parse_link_options(DOCUMENT, UrlPolicy())
    code = f"opt{uuid4().hex[:8]}"
    stored = await backends.links.insert(
        NewLink("https://example.com/", "alice", options=options), code, uuid4()
    )
    assert stored is not None and stored.options == options
    read = await backends.links.get(code)
    assert read is not None and read.options == options

    local = LocalCache(100, 60)
    local.reset(enabled=True)
    resolver = LinkResolver(local, backends.cache, backends.links)
    from_db, tier = await resolver.resolve(code)
    assert tier == "db" and from_db is not None
    assert from_db.routing == options and from_db.tags == ("spring", "email")
    assert from_db.target == "https://example.com/?utm_source=nl&utm_campaign=spring"
    local.invalidate([code])
    from_redis, tier = await resolver.resolve(code)
    assert tier == "redis" and from_redis == from_db

    cleared = await backends.links.update(code, "alice", {"options": NO_OPTIONS})
    assert cleared is not None and cleared.options == NO_OPTIONS
    assert await backends.links.clicks_reserved(code) == 0


async def test_bulk_insert_keeps_each_links_options(backends: Backends):
    tagged = parse_link_options({"tags": ["x"]}, UrlPolicy())
    rows = await backends.links.insert_many(
        [
            (f"b1{uuid4().hex[:8]}", NewLink("https://example.com/1", "alice", options=tagged)),
            (f"b2{uuid4().hex[:8]}", NewLink("https://example.com/2", "alice")),
        ],
        uuid4(),
    )
    assert sorted(link.options.tags for link in rows) == [(), ("x",)]
