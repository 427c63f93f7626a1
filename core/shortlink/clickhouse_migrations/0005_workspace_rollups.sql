-- Whole-workspace aggregates (issue 23): a workspace's stats read its 1,000s of links'
-- daily rows (at 10M clicks, 880k daily_breakdowns rows for the hottest workspace's 30
-- days, more than its raw clicks); keyed by workspace the same days are ~13x fewer rows.
-- A click carries its link's code, not its workspace (that lives in PostgreSQL), so no
-- view can key them: they are rolled up from daily_* per CLOSED UTC day by the API's
-- sweep (services/workspace_rollups.py, adapters/clickhouse_rollups.py), with the links'
-- workspaces read from PostgreSQL at that time. One partition per day, replaced whole
-- (idempotent: replicas may roll the same day at once). A day is read from here only
-- while `workspace_rollups` says its latest rollup is valid: erasure, and a click stored
-- for an already rolled day, write an invalid row for the day (the highest version wins)
-- and the stats read that day from daily_* until the next sweep rolls it again.
CREATE TABLE IF NOT EXISTS workspace_daily_stats
(
    workspace  String,
    day        Date,
    clicks     UInt64,
    bot_clicks UInt64,
    events     UInt64,
    visitors   AggregateFunction(uniq, UInt64)
)
ENGINE = MergeTree
PARTITION BY day
ORDER BY (workspace, day);

CREATE TABLE IF NOT EXISTS workspace_daily_breakdowns
(
    workspace String,
    dimension LowCardinality(String),
    day       Date,
    value     String,
    clicks    UInt64
)
ENGINE = MergeTree
PARTITION BY day
ORDER BY (workspace, dimension, day, value);

CREATE TABLE IF NOT EXISTS workspace_daily_links
(
    workspace String,
    day       Date,
    code      String,
    clicks    UInt64
)
ENGINE = MergeTree
PARTITION BY day
ORDER BY (workspace, day, code);

CREATE TABLE IF NOT EXISTS workspace_rollups
(
    day     Date,
    valid   Bool,
    version DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY day;
