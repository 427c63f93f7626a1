-- Link rules, A/B variants and tags (issue 22): which rule and variant served each
-- click, and the link's tags, as click dimensions. Clicks stored before carry ''/[].
ALTER TABLE clicks ADD COLUMN IF NOT EXISTS rule_id LowCardinality(String) DEFAULT '';
ALTER TABLE clicks ADD COLUMN IF NOT EXISTS variant_id LowCardinality(String) DEFAULT '';
ALTER TABLE clicks ADD COLUMN IF NOT EXISTS tags Array(LowCardinality(String)) DEFAULT [];

-- Their breakdowns go into the same hourly table as the others (and so, through its
-- view, into the daily one). rule: the rule id; variant: "<rule id>/<variant id>",
-- "link/<variant id>" for the link's own split; tag: one row per tag. A click that no
-- rule, split or tag concerns adds nothing here.
CREATE MATERIALIZED VIEW IF NOT EXISTS hourly_rule_breakdowns_mv TO hourly_breakdowns AS
SELECT
    code,
    pair.1 AS dimension,
    toStartOfHour(ts) AS hour,
    pair.2 AS value,
    count() AS clicks
FROM clicks
ARRAY JOIN arrayConcat(
    [
        ('rule', toString(rule_id)),
        ('variant', if(variant_id = '', '',
                       concat(if(rule_id = '', 'link', toString(rule_id)), '/', toString(variant_id))))
    ],
    arrayMap(tag -> ('tag', toString(tag)), tags)
) AS pair
WHERE is_human AND pair.2 != ''
GROUP BY code, dimension, hour, value;
