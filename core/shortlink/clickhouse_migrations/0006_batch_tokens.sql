-- Exact counts when a writer dies mid-insert (adapters/clickhouse_batches.py). An insert
-- into `clicks` feeds its views one after another; a writer killed between two of them
-- left the replay guard, itself one of those views, holding ids that an aggregate had
-- missed, and those clicks were skipped as duplicates for good. Now the writer fills
-- `click_ids` itself, before the batch, with the batch's token; `stored_batches` says
-- which batches landed; every table an insert into `clicks` reaches remembers the last
-- tokens written to it, so a batch written again fills only the tables that missed it.
DROP VIEW IF EXISTS click_ids_mv;

ALTER TABLE click_ids ADD COLUMN IF NOT EXISTS batch String DEFAULT '';
-- The view set it; the writer leaves it to the table (its TTL counts from it).
ALTER TABLE click_ids MODIFY COLUMN inserted_at DateTime('UTC') DEFAULT now('UTC');

-- One row per batch once it is settled: landed (its rows are in `clicks` and every view
-- of it) or not (a crash came before `clicks` took it: its clicks are stored afresh).
CREATE TABLE IF NOT EXISTS stored_batches
(
    batch      String,
    landed     Bool,
    settled_at DateTime('UTC') DEFAULT now('UTC')
)
ENGINE = ReplacingMergeTree(settled_at)
ORDER BY batch
TTL settled_at + INTERVAL 7 DAY;

-- 10,000 inserts: a batch cut short is written again by the next owner of its partitions
-- within seconds to minutes; at a few batches a second per worker that is ample.
ALTER TABLE clicks MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE recent_clicks MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE hourly_stats MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE daily_stats MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE hourly_breakdowns MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE daily_breakdowns MODIFY SETTING non_replicated_deduplication_window = 10000;
