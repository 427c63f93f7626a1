-- Raw clicks, one row per redirect served. Ordered for per-link time-range reads.
-- ReplacingMergeTree on the sort key (which ends in event_id) is the second guard
-- against replays: merges collapse a duplicate row. Aggregates are kept exact by the
-- writer's pre-insert check against click_ids (materialized views fire per insert).
CREATE TABLE IF NOT EXISTS clicks
(
    event_id      String,
    code          String,
    ts            DateTime64(3, 'UTC'),
    method        LowCardinality(String),
    ip            String,
    visitor_id    UInt64,
    country       LowCardinality(String),
    city          String,
    lat           Nullable(Float32),
    lon           Nullable(Float32),
    device        LowCardinality(String),
    os            LowCardinality(String),
    browser       LowCardinality(String),
    user_agent    String CODEC(ZSTD(1)),
    referrer      String CODEC(ZSTD(1)),
    referrer_host String,
    is_bot        Bool,
    is_human      Bool
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (code, ts, event_id);

-- Recently stored event ids, ordered by click time: the writer looks a batch up within
-- the batch's own time window, which reads a few granules however large `clicks` grows.
-- Kept 7 days after insertion (by insertion day, so old clicks backfilled today are
-- remembered too); replays come minutes after the original, not weeks.
CREATE TABLE IF NOT EXISTS click_ids
(
    ts          DateTime64(3, 'UTC'),
    event_id    String,
    inserted_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(inserted_at)
ORDER BY (ts, event_id)
TTL inserted_at + INTERVAL 7 DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS click_ids_mv TO click_ids AS
SELECT ts, event_id, now('UTC') AS inserted_at FROM clicks;

-- Per link per UTC hour: the hour series and the ragged ends of a range. The daily
-- tables below are fed from the hourly ones (views on views), so every rule about
-- what counts is written once, here.
CREATE TABLE IF NOT EXISTS hourly_stats
(
    code       String,
    hour       DateTime('UTC'),
    clicks     SimpleAggregateFunction(sum, UInt64),
    bot_clicks SimpleAggregateFunction(sum, UInt64),
    events     SimpleAggregateFunction(sum, UInt64),
    visitors   AggregateFunction(uniq, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (code, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_stats_mv TO hourly_stats AS
SELECT
    code,
    toStartOfHour(ts) AS hour,
    countIf(is_human) AS clicks,
    countIf(is_bot) AS bot_clicks,
    count() AS events,
    uniqStateIf(visitor_id, is_human) AS visitors
FROM clicks
GROUP BY code, hour;

-- Per link per UTC day: the totals and the day series.
CREATE TABLE IF NOT EXISTS daily_stats
(
    code       String,
    day        Date,
    clicks     SimpleAggregateFunction(sum, UInt64),
    bot_clicks SimpleAggregateFunction(sum, UInt64),
    events     SimpleAggregateFunction(sum, UInt64),
    visitors   AggregateFunction(uniq, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (code, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_stats_mv TO daily_stats AS
SELECT
    code,
    toDate(hour) AS day,
    sum(clicks) AS clicks,
    sum(bot_clicks) AS bot_clicks,
    sum(events) AS events,
    uniqMergeState(visitors) AS visitors
FROM hourly_stats
GROUP BY code, day;

-- Human clicks per link, UTC hour and breakdown value: one table for every breakdown
-- (country, city, device, os, browser, referrer host), one view feeding it. Its
-- country rows are the hourly per-country rollup.
CREATE TABLE IF NOT EXISTS hourly_breakdowns
(
    code      String,
    dimension LowCardinality(String),
    hour      DateTime('UTC'),
    value     String,
    clicks    UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (code, dimension, hour, value);

CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_breakdowns_mv TO hourly_breakdowns AS
SELECT
    code,
    pair.1 AS dimension,
    toStartOfHour(ts) AS hour,
    pair.2 AS value,
    count() AS clicks
FROM clicks
ARRAY JOIN [
    ('country', toString(country)),
    ('city', if(city = '' OR country = '', city, concat(city, ', ', toString(country)))),
    ('device', toString(device)),
    ('os', toString(os)),
    ('browser', toString(browser)),
    ('referrer', referrer_host)
] AS pair
WHERE is_human AND pair.2 != ''
GROUP BY code, dimension, hour, value;

-- The same per UTC day, summed from the hourly breakdowns.
CREATE TABLE IF NOT EXISTS daily_breakdowns
(
    code      String,
    dimension LowCardinality(String),
    day       Date,
    value     String,
    clicks    UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (code, dimension, day, value);

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_breakdowns_mv TO daily_breakdowns AS
SELECT code, dimension, toDate(hour) AS day, value, sum(clicks) AS clicks
FROM hourly_breakdowns
GROUP BY code, dimension, day, value;
