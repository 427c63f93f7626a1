-- Which key minted each key, so revoking a leaked key also revokes every key it
-- minted (and they minted). NULL: the initial key, or one made with the CLI.
-- (0003 is the DB layer's; the runner applies whatever is missing, gaps or not.)
ALTER TABLE api_keys ADD COLUMN created_by bigint REFERENCES api_keys (id);
CREATE INDEX api_keys_created_by ON api_keys (created_by) WHERE created_by IS NOT NULL;
