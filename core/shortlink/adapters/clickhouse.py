"""ClickHouse storage for click analytics: schema migrations, inserts, replay lookup, stats.

One client for both worlds: clickhouse-connect over HTTP in production
(``CLICKHOUSE_URL=http://user:pass@host:8123/shortlink``) and the in-process chDB engine
in dev and tests (``chdb:///abs/data/dir?database=shortlink``). chDB hosts one data
directory per process; several stores on that directory are fine.

clickhouse-connect is synchronous. The async methods run it in a worker thread
(``asyncio.to_thread``): chDB and the HTTP client both release the GIL while the
engine works, and each client serializes its own calls (chDB with a lock per handle,
HTTP without a session), so the event loop never waits on ClickHouse.

Stats read the aggregate tables only (see clickhouse_migrations/0001_clicks.sql):
whole UTC days from ``daily_*``, the ragged hours at either end from ``hourly_*``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from shortlink.adapters import clickhouse_batches as batches
from shortlink.adapters import clickhouse_filtered as raw
from shortlink.adapters import clickhouse_rollups as rollups
from shortlink.adapters.clickhouse_cluster import clustered
from shortlink.domain.analytics import (
    BREAKDOWNS,
    DAY,
    SUMMARY_DAYS,
    ClickRow,
    ClickSummary,
    Count,
    LinkStats,
    SeriesPoint,
    StatsRange,
    Totals,
    stats_range,
)
from shortlink.domain.stats_buckets import (
    bucket_starts,
    hours_are_utc_hours,
    place,
    realtime_range,
    uses_aggregates,
)
from shortlink.domain.stats_filters import Filter
from shortlink.domain.workspace_rollups import late_days, whole_months

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE: Final = "clickhouse_migrations"
# breakdown dimension stored in ClickHouse → LinkStats field
_DIMENSIONS: Final = {
    "country": "countries",
    "city": "cities",
    "device": "devices",
    "os": "os",
    "browser": "browsers",
    "referrer": "referrers",
    "rule": "rules",
    "variant": "variants",
    "tag": "tags",
    "link": "links",
}
_WINDOW_GAP_MS: Final = 2000
_MAX_WINDOWS: Final = 16
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def available_migrations() -> list[tuple[int, str, list[str]]]:
    """(version, name, statements) sorted by version, from clickhouse_migrations/NNNN_name.sql."""
    folder = resources.files(f"shortlink.{MIGRATIONS_PACKAGE}")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            found.append(
                (int(version), rest.removesuffix(".sql"), split_statements(entry.read_text()))
            )
    return sorted(found)


def split_statements(sql: str) -> list[str]:
    """One statement per ClickHouse call: split at semicolons ending a line, drop comments."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in _STATEMENT_END.split("\n".join(lines)) if s.strip()]


def open_client(url: str) -> Client:
    """A client for ``url``, its database created if missing.

    ``chdb:///abs/dir?database=name`` (or ``chdb://memory?database=name``) opens the
    in-process engine; anything else goes to ``clickhouse_connect.get_client(dsn=url)``.
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    client: Client
    if parts.scheme == "chdb":
        database = (query.get("database") or ["default"])[0]
        location = None if parts.netloc else parts.path  # chdb://memory: in memory
        client = clickhouse_connect.get_client(interface="chdb", path=location)
    else:
        database = (query.get("database") or [""])[0] or parts.path.strip("/") or "default"
        # No HTTP session: calls come from several threads, a session would serialize
        # them server-side and fail with SESSION_IS_LOCKED.
        client = clickhouse_connect.get_client(
            dsn=url, database="default", autogenerate_session_id=False
        )
    if not _IDENTIFIER.match(database):
        raise ValueError(f"unsupported ClickHouse database name {database!r}")
    if database != "default":
        client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        client.database = database
    return client


_WHOLE_DAYS: Final = (
    "day >= toDate(toDateTime({day_from:UInt32}, 'UTC'))"
    " AND day < toDate(toDateTime({day_to:UInt32}, 'UTC'))"
)
# The whole days read from the links' own daily rows: those not read from the
# workspace rollups (``rolled``: empty unless a whole workspace is asked about).
_LINK_DAYS: Final = (
    f"code IN {{codes:Array(String)}} AND {_WHOLE_DAYS} AND day NOT IN {{rolled:Array(Date)}}"
)
# The same but for the days of the months read from the links' monthly rollups
# (``months``: empty unless a range holds whole rolled months), for every question but
# the day series.
_SUMMED_DAYS: Final = f"{_LINK_DAYS} AND toStartOfMonth(day) NOT IN {{months:Array(Date)}}"
# Up to two hour ranges outside the whole days; an unused one is empty (from == to).
_EDGE_HOURS: Final = (
    "(hour >= toDateTime({e0_from:UInt32}, 'UTC') AND hour < toDateTime({e0_to:UInt32}, 'UTC'))"
    " OR (hour >= toDateTime({e1_from:UInt32}, 'UTC') AND hour < toDateTime({e1_to:UInt32}, 'UTC'))"
)


class ClickStore:
    def __init__(self, client: Client, cluster: str = "") -> None:
        """``cluster``: migrations take their clustered form (clickhouse_cluster)."""
        self._client = client
        self._cluster = cluster
        self._recent_from: float | None = None
        self._batches = batches.ClickBatches(client)

    @classmethod
    def connect(cls, url: str, cluster: str = "") -> ClickStore:
        return cls(open_client(url), cluster)

    def _schema(self, statement: str) -> list[str]:
        return clustered(statement, self._cluster) if self._cluster else [statement]

    @property
    def client(self) -> Client:
        return self._client

    @property
    def cluster(self) -> str:
        """The cluster's name ("" for a single server): writes that bypass the
        Distributed tables (a DELETE) address its ``_local`` tables ON CLUSTER."""
        return self._cluster

    def close(self) -> None:
        # Best effort: a batch left unmarked is settled through `clicks` if replayed.
        with contextlib.suppress(Exception):
            self._batches.mark()
        self._client.close()

    # -- migrations ---------------------------------------------------------------------

    async def apply_migrations(self) -> list[str]:
        return await asyncio.to_thread(self.apply_migrations_sync)

    def apply_migrations_sync(self) -> list[str]:
        """Apply pending migrations; returns the names applied. ClickHouse has no
        transactions: every statement is idempotent (IF NOT EXISTS), so a migration
        cut short, or run by two processes at once, is simply run again."""
        client = self._client
        for ddl in self._schema(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version UInt32, name String, applied_at DateTime('UTC') DEFAULT now())"
            " ENGINE = ReplacingMergeTree ORDER BY version"
        ):
            client.command(ddl)
        done = {row[0] for row in client.query("SELECT version FROM schema_migrations").result_rows}
        applied = []
        for version, name, statements in available_migrations():
            if version in done:
                continue
            for statement in statements:
                for ddl in self._schema(statement):
                    client.command(ddl)
            client.insert("schema_migrations", [[version, name]], column_names=["version", "name"])
            log.info("clickhouse migration applied", extra={"version": version, "migration": name})
            applied.append(f"{version:04d}_{name}")
        return applied

    async def ping(self) -> None:
        await asyncio.to_thread(self._client.query, "SELECT 1")

    # -- writes -------------------------------------------------------------------------

    async def insert(self, rows: Sequence[ClickRow]) -> list[ClickRow]:
        return await asyncio.to_thread(self.insert_sync, rows)

    def insert_sync(self, rows: Sequence[ClickRow]) -> list[ClickRow]:
        """Store the rows not stored before; returns those it stored.

        Replays (at-least-once delivery) are dropped by event_id: duplicates within the
        batch, and ids a landed batch holds (clickhouse_batches: a batch a crash cut
        short is finished first). The aggregates are exact as long as one writer
        handles a given event at a time (Kafka gives a partition to one consumer)."""
        fresh: dict[str, ClickRow] = {}
        for row in rows:
            fresh.setdefault(row.event_id, row)
        if not fresh:
            return []
        stored = self._stored_among(fresh)
        batch = [row for event_id, row in fresh.items() if event_id not in stored]
        if batch:
            self._batches.write(batch)
            if rollups.rollable_store(self._cluster):
                # Stored after its day was rolled up: that rollup misses it until rolled again.
                rollups.invalidate(self._client, late_days((r.ts for r in batch), time.time()))
        return batch

    def _stored_among(self, rows: dict[str, ClickRow]) -> set[str]:
        """Which of these rows' ids are stored. Shipping thousands of ids into a query is
        slow (~5-10 µs each, as parameters or literals alike), so this reads back every id
        named within the batch's time windows instead and intersects here (<1 µs a
        row): a replay carries its original timestamp. A batch's clicks are dense in
        time; one scattered over many windows falls back to the id list."""
        windows = _time_windows(sorted(row.ts for row in rows.values()))
        if len(windows) > _MAX_WINDOWS:
            stamps = [row.ts for row in rows.values()]
            return self.existing_event_ids_sync(rows.keys(), since=min(stamps), until=max(stamps))
        where = " OR ".join(
            f"(ts >= fromUnixTimestamp64Milli({lo}, 'UTC')"
            f" AND ts <= fromUnixTimestamp64Milli({hi}, 'UTC'))"
            for lo, hi in windows
        )
        result = self._client.query(f"SELECT event_id, batch FROM click_ids WHERE {where}")
        return self._batches.landed_among(_named(result.result_rows, rows))

    async def existing_event_ids(
        self, event_ids: Collection[str], *, since: float | None = None, until: float | None = None
    ) -> set[str]:
        return await asyncio.to_thread(
            self.existing_event_ids_sync, event_ids, since=since, until=until
        )

    def existing_event_ids_sync(
        self, event_ids: Collection[str], *, since: float | None = None, until: float | None = None
    ) -> set[str]:
        """Which of ``event_ids`` are stored already. ``since``/``until`` (epoch seconds,
        inclusive) bound the clicks' timestamps: a replay carries its original one, so
        the window is exact and keeps the lookup to a few granules. Ids are remembered
        for 7 days (click_ids TTL)."""
        if not event_ids:
            return set()
        where = ["event_id IN {ids:Array(String)}"]
        params: dict[str, Any] = {"ids": list(event_ids)}
        if since is not None:
            where.append("ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')")
            params["since"] = math.floor(since * 1000)
        if until is not None:
            where.append("ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')")
            params["until"] = math.ceil(until * 1000)
        result = self._client.query(
            f"SELECT event_id, batch FROM click_ids WHERE {' AND '.join(where)}",
            parameters=params,
        )
        return self._batches.landed_among(_named(result.result_rows, event_ids))

    # -- reads --------------------------------------------------------------------------

    async def link_total(self, code: str) -> int:
        return await asyncio.to_thread(self.link_total_sync, code)

    def link_total_sync(self, code: str) -> int:
        """All-time human clicks of a link."""
        result = self._client.query(
            "SELECT sum(clicks) FROM daily_stats WHERE code = {code:String}",
            parameters={"code": code},
        )
        return int(result.result_rows[0][0]) if result.result_rows else 0

    async def link_totals(self, codes: Collection[str], minimum: int = 0) -> dict[str, int]:
        return await asyncio.to_thread(self.link_totals_sync, codes, minimum)

    def link_totals_sync(self, codes: Collection[str], minimum: int = 0) -> dict[str, int]:
        """All-time human clicks of those ``codes`` that have more than ``minimum``."""
        if not codes:
            return {}
        result = self._client.query(
            "SELECT code, sum(clicks) AS total FROM daily_stats"
            " WHERE code IN {codes:Array(String)} GROUP BY code HAVING total > {minimum:UInt64}",
            parameters={"codes": list(codes), "minimum": max(0, minimum)},
        )
        return {str(code): int(total) for code, total in result.result_rows}

    async def click_summaries(
        self, codes: Collection[str], today: date, days: int = SUMMARY_DAYS
    ) -> dict[str, ClickSummary]:
        return await asyncio.to_thread(self.click_summaries_sync, codes, today, days)

    def click_summaries_sync(
        self, codes: Collection[str], today: date, days: int = SUMMARY_DAYS
    ) -> dict[str, ClickSummary]:
        """All-time and per-day human clicks (``days`` UTC days up to ``today``) of each
        of ``codes``, from daily_stats in one query; a code without clicks gets zeros."""
        if not codes:
            return {}
        first = _day_start(today.toordinal() - days + 1)
        result = self._client.query(
            "SELECT code, sum(clicks),"
            " groupArrayIf((toUInt32(toUnixTimestamp(toDateTime(day, 'UTC'))), clicks),"
            " day >= toDate(toDateTime({first:UInt32}, 'UTC')))"
            " FROM (SELECT code, day, sum(clicks) AS clicks FROM daily_stats"
            " WHERE code IN {codes:Array(String)} GROUP BY code, day) GROUP BY code",
            parameters={"codes": list(codes), "first": first},
        )
        summaries = {code: ClickSummary(0, (0,) * days) for code in codes}
        for code, total, recent in result.result_rows:
            per_day = [0] * days
            for start, clicks in recent:
                index = (int(start) - first) // DAY
                if 0 <= index < days:
                    per_day[index] = int(clicks)
            summaries[str(code)] = ClickSummary(int(total), tuple(per_day))
        return summaries

    async def stats(
        self,
        code: str,
        start: datetime | float,
        end: datetime | float,
        interval: str = "day",
        limit: int = 10,
    ) -> LinkStats:
        """Stats of one link over ``[start, end)`` (aligned outwards to whole hours; see
        domain.analytics), from the aggregates. Breakdowns keep the ``limit`` largest
        values each."""
        return await self.stats_of([code], start, end, interval, limit=limit, label=code)

    async def stats_of(
        self,
        codes: Sequence[str],
        start: datetime | float,
        end: datetime | float,
        interval: str = "day",
        *,
        limit: int = 10,
        timezone: str = "UTC",
        filters: Sequence[Filter] = (),
        label: str = "",
        rank_links: bool = False,
        raw_rows: bool = False,
        workspace: str = "",
    ) -> LinkStats:
        """Stats of ``codes`` together (one link, or a workspace's links: then with
        ``rank_links``, their ranking as the ``links`` breakdown). Unfiltered in UTC:
        from the aggregates (the queries run side by side, each in a thread: chdb and
        the HTTP client both release the GIL while they wait). Otherwise from the raw
        clicks (stats_buckets). ``raw_rows``: from the raw clicks whatever the query (the
        reference the benchmarks time the aggregates against). ``workspace``: ``codes``
        are all of that workspace's links, so its whole days that are rolled up are read
        from the workspace aggregates (clickhouse_rollups) instead of the links' rows."""
        span = stats_range(_epoch(start), _epoch(end), interval)
        if not codes:
            starts = bucket_starts(span.start, span.end, interval, timezone)
            return _link_stats(label, span, Totals(0, 0, 0), place({}, starts), {})
        if filters or raw_rows:
            return await self._raw_stats(
                codes, span.start, span.end, interval, timezone, filters, limit, label, rank_links
            )
        params = _range_params(codes, span)
        params["workspace"] = workspace
        params["rolled"], params["months"] = await asyncio.to_thread(
            self._rolled_periods, span, workspace
        )
        series_of = (
            asyncio.to_thread(self._series, span, params)
            if uses_aggregates(timezone, filters)
            else asyncio.to_thread(self._zone_series, span, {**params, "tz": timezone})
        )
        (clicks, bots, series), uniques, counts, links = await asyncio.gather(
            series_of,
            asyncio.to_thread(self._unique_visitors, params),
            asyncio.to_thread(self._breakdowns, params, max(1, limit)),
            asyncio.to_thread(self._links, params, max(1, limit), rank_links),
        )
        counts["links"] = links
        return _link_stats(label, span, Totals(clicks, bots, uniques), series, counts)

    def _rolled_periods(self, span: StatsRange, workspace: str) -> tuple[list[date], list[date]]:
        """(the whole-workspace days, the links' months) of the range rolled up. A month
        only for links asked about on their own: a workspace's days are rolled already."""
        if workspace:
            return rollups.valid_days(self._client, *span.days), []
        return [], rollups.valid_months(self._client, whole_months(*span.days))

    async def realtime(
        self,
        codes: Sequence[str],
        now: float,
        filters: Sequence[Filter] = (),
        limit: int = 10,
        label: str = "",
        rank_links: bool = False,
    ) -> LinkStats:
        """The last 30 minutes of ``codes``, per minute, from the raw clicks: those of
        ``recent_clicks`` once it covers the window (clickhouse_migrations/0004)."""
        start, end = realtime_range(now)
        table = "recent_clicks" if await self._recent_since() <= start else "clicks"
        return await self._raw_stats(
            codes, start, end, "minute", "UTC", filters, limit, label, rank_links, table
        )

    async def _raw_stats(
        self,
        codes: Sequence[str],
        start: int,
        end: int,
        interval: str,
        timezone: str,
        filters: Sequence[Filter],
        limit: int,
        label: str,
        rank_links: bool,
        table: str = "clicks",
    ) -> LinkStats:
        condition, params = raw.where(filters)
        chosen = raw.counted(filters)
        params |= {"codes": list(codes), "start": start, "end": end, "tz": timezone,
                   "limit": max(1, limit)}  # fmt: skip

        def query(sql: str, parameters: dict[str, Any]) -> Any:
            return self._client.query(
                sql.replace(" FROM clicks ", f" FROM {table} "), parameters=parameters
            )

        summary, breakdowns, tags = await asyncio.gather(
            asyncio.to_thread(
                query, raw.summary_sql(condition, chosen, interval), parameters=params
            ),
            asyncio.to_thread(
                query, raw.breakdowns_sql(condition, chosen, rank_links), parameters=params
            ),
            asyncio.to_thread(query, raw.tags_sql(condition, chosen), parameters=params),
        )
        # The empty grouping set's row comes even over no rows; the default only guards.
        clicks, bots, uniques = next((row[2:] for row in summary.result_rows if row[0]), (0, 0, 0))
        starts = bucket_starts(start, end, interval, timezone)
        per_bucket = {int(row[1]): int(row[2]) for row in summary.result_rows if not row[0]}
        points = place({t: n for t, n in per_bucket.items() if n}, starts)
        counts = _counts([*breakdowns.result_rows, *tags.result_rows])
        span = StatsRange(start, end, interval, (start, start), ())  # type: ignore[arg-type]
        return _link_stats(
            label, span, Totals(int(clicks), int(bots), int(uniques)), points, counts
        )

    async def _recent_since(self) -> float:
        """From when ``recent_clicks`` holds every click: its migration's time (0004;
        the view fills it from then on), +inf before. Read once, then kept."""
        if self._recent_from is None:
            rows = await asyncio.to_thread(
                self._client.query,
                "SELECT toUnixTimestamp(min(applied_at)), count() FROM schema_migrations"
                " WHERE version = 4",
            )
            first, found = rows.result_rows[0] if rows.result_rows else (0, 0)
            if not found:
                return math.inf  # not migrated yet: ask again next time
            self._recent_from = float(first)
        return self._recent_from

    def _series(
        self, span: StatsRange, params: dict[str, Any]
    ) -> tuple[int, int, tuple[SeriesPoint, ...]]:
        """(human clicks, bot clicks, per-bucket human clicks) over the range."""
        if span.interval == "hour":
            source = (
                "SELECT hour AS t, clicks, bot_clicks FROM hourly_stats"
                " WHERE code IN {codes:Array(String)} AND hour >= toDateTime({start:UInt32}, 'UTC')"
                " AND hour < toDateTime({end:UInt32}, 'UTC')"
            )
        else:
            source = (
                "SELECT toDateTime(day, 'UTC') AS t, clicks, bot_clicks FROM daily_stats"
                f" WHERE {_LINK_DAYS}"
                " UNION ALL SELECT toStartOfDay(hour) AS t, clicks, bot_clicks"
                f" FROM hourly_stats WHERE code IN {{codes:Array(String)}} AND ({_EDGE_HOURS})"
                + _rolled(params, "toDateTime(day, 'UTC') AS t, clicks, bot_clicks", "stats", False)
            )
        result = self._client.query(
            f"SELECT toUnixTimestamp(t), sum(clicks), sum(bot_clicks) FROM ({source}) GROUP BY t",
            parameters=params,
        )
        per_bucket: dict[int, int] = {}
        clicks = bots = 0
        for t, bucket_clicks, bucket_bots in result.result_rows:
            per_bucket[int(t)] = int(bucket_clicks)
            clicks += int(bucket_clicks)
            bots += int(bucket_bots)
        series = tuple(SeriesPoint(t, per_bucket.get(t, 0)) for t in span.bucket_starts())
        return clicks, bots, series

    def _zone_series(
        self, span: StatsRange, params: dict[str, Any]
    ) -> tuple[int, int, tuple[SeriesPoint, ...]]:
        """As _series, in buckets of another zone: summed from the hourly aggregates
        when its offsets are whole hours, from the raw clicks otherwise (stats_buckets)."""
        zone = params["tz"]
        if hours_are_utc_hours(zone, span.start, span.end):
            bucket = "toStartOfDay(hour, {tz:String})" if span.interval == "day" else "hour"
            source = "hourly_stats"
            where = (
                "hour >= toDateTime({start:UInt32}, 'UTC')"
                " AND hour < toDateTime({end:UInt32}, 'UTC')"
            )
            counts = "sum(clicks), sum(bot_clicks)"
        else:
            bucket = raw.BUCKETS[span.interval]
            source = "clicks"
            where = (
                "ts >= toDateTime({start:UInt32}, 'UTC') AND ts < toDateTime({end:UInt32}, 'UTC')"
            )
            counts = "countIf(is_human), countIf(is_bot)"
        result = self._client.query(
            f"SELECT toUnixTimestamp({bucket}) AS t, {counts} FROM {source}"
            f" WHERE code IN {{codes:Array(String)}} AND {where} GROUP BY t",
            parameters=params,
        )
        per_bucket = {int(t): int(clicks) for t, clicks, _ in result.result_rows}
        bots = sum(int(b) for _, _, b in result.result_rows)
        starts = bucket_starts(span.start, span.end, span.interval, zone)
        return sum(per_bucket.values()), bots, place(per_bucket, starts)

    def _unique_visitors(self, params: dict[str, Any]) -> int:
        # Visitor states are the costly part (up to 256 KiB each): merged once, over
        # the fewest states (whole days + edge hours), and not per bucket.
        uniques = self._client.query(
            "SELECT uniqMerge(visitors) FROM ("
            " SELECT visitors FROM daily_stats"
            f" WHERE {_SUMMED_DAYS}"
            " UNION ALL SELECT visitors FROM hourly_stats"
            f" WHERE code IN {{codes:Array(String)}} AND ({_EDGE_HOURS})"
            f"{_rolled(params, 'visitors', 'stats')})",
            parameters=params,
        ).result_rows
        return int(uniques[0][0]) if uniques else 0

    def _breakdowns(self, params: dict[str, Any], limit: int) -> dict[str, list[Count]]:
        result = self._client.query(
            "SELECT dimension, value, sum(clicks) AS total FROM ("
            " SELECT dimension, value, clicks FROM daily_breakdowns"
            f" WHERE {_SUMMED_DAYS}"
            " UNION ALL SELECT dimension, value, clicks FROM hourly_breakdowns"
            f" WHERE code IN {{codes:Array(String)}} AND ({_EDGE_HOURS})"
            f"{_rolled(params, 'dimension, value, clicks', 'breakdowns')})"
            " GROUP BY dimension, value HAVING total > 0"
            " ORDER BY dimension, total DESC, value LIMIT {limit:UInt32} BY dimension",
            parameters={**params, "limit": limit},
        )
        return _counts(result.result_rows)

    def _links(self, params: dict[str, Any], limit: int, wanted: bool) -> list[Count]:
        """The codes with the most clicks (if ``wanted``: a workspace's stats)."""
        if not wanted:
            return []
        result = self._client.query(
            "SELECT code, sum(clicks) AS total FROM ("
            " SELECT code, clicks FROM daily_stats"
            f" WHERE {_SUMMED_DAYS}"
            " UNION ALL SELECT code, clicks FROM hourly_stats"
            f" WHERE code IN {{codes:Array(String)}} AND ({_EDGE_HOURS})"
            f"{_rolled(params, 'code, clicks', 'links')})"
            " GROUP BY code HAVING total > 0 ORDER BY total DESC, code LIMIT {limit:UInt32}",
            parameters={**params, "limit": limit},
        )
        return [Count(str(code), int(total)) for code, total in result.result_rows]


def _rolled(params: dict[str, Any], columns: str, table: str, by_month: bool = True) -> str:
    """The UNION ALL branches reading ``columns`` of the rolled-up periods: the
    workspace's days from ``workspace_daily_<table>``, the links' months (``by_month``)
    from their monthly rows; "" when none is rolled up."""
    branches = ""
    if params["rolled"]:
        links_only = " AND code IN {codes:Array(String)}" if table == "links" else ""
        branches += (
            f" UNION ALL SELECT {columns} FROM workspace_daily_{table}"
            " WHERE workspace = {workspace:String} AND day IN {rolled:Array(Date)}" + links_only
        )
    if by_month and params["months"]:
        monthly = "monthly_breakdowns" if table == "breakdowns" else "monthly_stats"
        branches += (
            f" UNION ALL SELECT {columns} FROM {monthly}"
            " WHERE code IN {codes:Array(String)} AND month IN {months:Array(Date)}"
        )
    return branches


def _counts(rows: Sequence[Sequence[Any]]) -> dict[str, list[Count]]:
    """(dimension, value, clicks) rows → LinkStats field → counts, in the rows' order."""
    counts: dict[str, list[Count]] = {}
    for dimension, value, total in rows:
        field = _DIMENSIONS.get(str(dimension))
        if field is not None:
            counts.setdefault(field, []).append(Count(str(value), int(total)))
    return counts


def _link_stats(
    label: str,
    span: StatsRange,
    totals: Totals,
    series: tuple[SeriesPoint, ...],
    counts: dict[str, list[Count]],
) -> LinkStats:
    return LinkStats(
        code=label,
        start=span.start,
        end=span.end,
        interval=span.interval,
        totals=totals,
        series=series,
        **{field: tuple(counts.get(field, ())) for field in BREAKDOWNS},
    )


def _named(found: Sequence[Sequence[Any]], wanted: Collection[str]) -> dict[str, set[str]]:
    """(event_id, batch) rows of ``click_ids`` → the batches naming each wanted id."""
    named: dict[str, set[str]] = {}
    for event_id, token in found:
        if event_id in wanted:
            named.setdefault(event_id, set()).add(token)
    return named


def _time_windows(stamps: list[float]) -> list[tuple[int, int]]:
    """Sorted timestamps → inclusive millisecond windows, split where clicks pause."""
    windows: list[tuple[int, int]] = []
    for ts in stamps:
        ms = round(ts * 1000)
        if windows and ms - windows[-1][1] <= _WINDOW_GAP_MS:
            windows[-1] = (windows[-1][0], ms)
        else:
            windows.append((ms, ms))
    return windows


def _range_params(codes: Sequence[str], span: StatsRange) -> dict[str, Any]:
    edges = [*span.edge_hours, (0, 0), (0, 0)][:2]
    return {
        "codes": list(codes),
        "start": span.start,
        "end": span.end,
        "day_from": span.days[0],
        "day_to": span.days[1],
        "e0_from": edges[0][0],
        "e0_to": edges[0][1],
        "e1_from": edges[1][0],
        "e1_to": edges[1][1],
    }


def _day_start(ordinal: int) -> int:
    """Epoch seconds of the UTC midnight that starts day ``ordinal`` (date.toordinal)."""
    return (ordinal - date(1970, 1, 1).toordinal()) * DAY


def _epoch(value: datetime | float) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)
