"""/v1 stats handlers (issue 23): one link's or a whole workspace's, over a range or
realtime (the last 30 minutes), as JSON or as CSV (``format=csv&table=...``).

The caller's workspace bounds everything: a link of another workspace is a 404, and a
workspace's stats read the clicks of its own links only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sanic import Blueprint
from sanic.response import HTTPResponse, raw

from shortlink.adapters.clickhouse import ClickStore
from shortlink.api.auth import principal_of
from shortlink.api.context import ApiRequest
from shortlink.api.representations import LinkStats, respond
from shortlink.api.stats_csv import CSV_TABLES, stats_csv
from shortlink.domain import analytics
from shortlink.domain.errors import AnalyticsUnavailable, DomainError, InvalidRequest
from shortlink.domain.stats_request import parse_realtime_request, parse_stats_request

log = logging.getLogger(__name__)

stats = Blueprint("stats", url_prefix="/v1")

STATS_PARAMETERS = (
    "from", "to", "interval", "timezone", "compare", "compare_from", "compare_to", "limit",
)  # fmt: skip
FORMATS = ("json", "csv")
Query = Callable[[ClickStore], Awaitable[analytics.LinkStats]]


@stats.get("/urls/<code:str>/stats", name="url_stats")
async def url_stats(request: ApiRequest, code: str) -> HTTPResponse:
    """Owner-only click stats (seed flow 4)."""
    key = principal_of(request)
    link = await request.app.ctx.links.get(key.workspace, code)  # 404 unless the caller's
    return await _range_stats(request, [link.code], link.code)


@stats.get("/stats", name="workspace_stats")
async def workspace_stats(request: ApiRequest) -> HTTPResponse:
    """Every link of the caller's workspace together, and their ranking (``links``)."""
    key = principal_of(request)
    _ = _format(request)  # refuse a bad format before reading the workspace
    codes = await request.app.ctx.links.codes(key.workspace)
    return await _range_stats(request, codes, "", key.workspace)


@stats.get("/urls/<code:str>/stats/realtime", name="url_realtime")
async def url_realtime(request: ApiRequest, code: str) -> HTTPResponse:
    key = principal_of(request)
    link = await request.app.ctx.links.get(key.workspace, code)
    return await _realtime(request, [link.code], link.code)


@stats.get("/stats/realtime", name="workspace_realtime")
async def workspace_realtime(request: ApiRequest) -> HTTPResponse:
    key = principal_of(request)
    codes = await request.app.ctx.links.codes(key.workspace)
    return await _realtime(request, codes, "")


def _given(request: ApiRequest) -> dict[str, str]:
    """The query's parameters, a blank one refused rather than taken as left out (Sanic
    drops blank values unless asked: '?to=' would read as the default)."""
    args = request.get_args(keep_blank_values=True)
    for name in (*STATS_PARAMETERS, "format", "table", "filter"):
        if name in args and not all(value.strip() for value in args.getlist(name)):
            raise InvalidRequest(f"'{name}' is empty: leave it out for its default", parameter=name)
    return {name: args[name][0] for name in args}


async def _range_stats(
    request: ApiRequest, codes: Sequence[str], label: str, workspace: str = ""
) -> HTTPResponse:
    """``workspace``: ``codes`` are all of its links (its rollups may answer)."""
    given = _given(request)
    raw_filters = request.args.getlist("filter") or []
    query = parse_stats_request(
        {name: given.get(name, "") for name in STATS_PARAMETERS},
        datetime.now(UTC),
        raw_filters,
    )
    fmt = _format(request)

    def over(start: datetime, end: datetime) -> Query:
        return lambda store: store.stats_of(
            codes, start, end, query.interval, limit=query.limit, timezone=query.timezone,
            filters=query.filters, label=label, rank_links=not label, workspace=workspace,
        )  # fmt: skip

    store = _store(request)
    current = await _ask(store, over(query.start, query.end))
    previous = await _ask(store, over(*query.compare)) if query.compare else None
    if fmt == "csv":
        return _csv(request, current, previous, label or "workspace")
    return respond(LinkStats.of(current, query.timezone, raw_filters, previous))


async def _realtime(request: ApiRequest, codes: Sequence[str], label: str) -> HTTPResponse:
    given = _given(request)
    raw_filters = request.args.getlist("filter") or []
    query = parse_realtime_request({"limit": given.get("limit", "")}, raw_filters)
    fmt = _format(request)
    now = datetime.now(UTC).timestamp()
    current = await _ask(
        _store(request),
        lambda store: store.realtime(
            codes, now, query.filters, query.limit, label, rank_links=not label
        ),
    )
    if fmt == "csv":
        return _csv(request, current, None, f"{label or 'workspace'}-realtime")
    return respond(LinkStats.of(current, "UTC", raw_filters))


def _format(request: ApiRequest) -> str:
    """``format``, and ``table`` checked whatever the format (the document refuses a bad
    one either way)."""
    fmt = request.args.get("format") or "json"
    if fmt not in FORMATS:
        raise InvalidRequest("format must be json or csv", parameter="format")
    table = request.args.get("table") or "series"
    if table not in CSV_TABLES:
        raise InvalidRequest(f"table must be one of {', '.join(CSV_TABLES)}", parameter="table")
    return fmt


def _csv(
    request: ApiRequest,
    current: analytics.LinkStats,
    previous: analytics.LinkStats | None,
    name: str,
) -> HTTPResponse:
    table = request.args.get("table") or "series"
    body = stats_csv(current, table, previous)
    return raw(
        body.encode(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{table}.csv"'},
    )


def _store(request: ApiRequest) -> ClickStore:
    store = request.app.ctx.clicks
    if store is None:
        if request.app.ctx.settings.clickhouse_url:
            raise AnalyticsUnavailable("ClickHouse is not reachable yet; try again shortly")
        raise AnalyticsUnavailable("Click analytics is not configured (CLICKHOUSE_URL)")
    return store


async def _ask(store: ClickStore, query: Query) -> analytics.LinkStats:
    try:
        return await query(store)
    except DomainError:
        raise
    except Exception as exc:
        log.error("stats query failed", extra={"error": repr(exc)})
        raise AnalyticsUnavailable("Click analytics did not answer; try again shortly") from None
