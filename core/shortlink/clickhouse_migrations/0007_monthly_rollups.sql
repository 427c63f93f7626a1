-- Per link per closed UTC month (issue 23): a hot link's year read from its 365 daily
-- rows merged 365 visitor states (up to 256 KiB each) and ~365x more breakdown rows;
-- from 12 monthly rows it is ~30x fewer. Rolled up from daily_* by the same sweep as
-- the workspace rollups, a whole month at a time (adapters/clickhouse_rollups.py): one
-- partition per month, replaced whole. A month is read from here only while
-- `monthly_rollups` says its latest rollup is valid: an erasure, or a click stored late
-- for one of its days, marks it invalid (the highest version wins) and stats read its
-- days from daily_* until the next sweep rolls it again. The day series still reads
-- daily_stats: a month holds no per-day counts.
CREATE TABLE IF NOT EXISTS monthly_stats
(
    code       String,
    month      Date,
    clicks     UInt64,
    bot_clicks UInt64,
    events     UInt64,
    visitors   AggregateFunction(uniq, UInt64)
)
ENGINE = MergeTree
PARTITION BY month
ORDER BY (code, month);

CREATE TABLE IF NOT EXISTS monthly_breakdowns
(
    code      String,
    dimension LowCardinality(String),
    month     Date,
    value     String,
    clicks    UInt64
)
ENGINE = MergeTree
PARTITION BY month
ORDER BY (code, dimension, month, value);

CREATE TABLE IF NOT EXISTS monthly_rollups
(
    month   Date,
    valid   Bool,
    version DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY month;
