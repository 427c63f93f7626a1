-- Link options (issue 22): rules, A/B variants, click limit, schedule start, fallbacks,
-- UTM/query parameters, tags and a folder, as the one JSON document the API and the
-- ShortLink spec take (docs/link-rules.md); NULL: a link without any. It is validated
-- before it is written, so the columns below only index it.
ALTER TABLE links
    ADD COLUMN options jsonb,
    -- Clicks PostgreSQL has let Redis serve for a max_clicks link: an upper bound of
    -- those served, the budget's truth when Redis loses it (domain/click_budget.py).
    ADD COLUMN clicks_reserved bigint NOT NULL DEFAULT 0 CHECK (clicks_reserved >= 0);

-- "Links tagged x" (options @> '{"tags": ["x"]}') and "links in folder y".
CREATE INDEX links_tags_idx ON links USING gin ((options -> 'tags') jsonb_path_ops)
    WHERE deleted_at IS NULL AND options IS NOT NULL;
CREATE INDEX links_owner_folder_idx ON links (owner, (options ->> 'folder'))
    WHERE deleted_at IS NULL AND options IS NOT NULL;
