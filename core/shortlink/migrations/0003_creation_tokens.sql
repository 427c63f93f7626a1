-- Exactly-once creates across retries. Each create request draws a token before its
-- first attempt and stores it with its row(s). A retry after an unknown outcome (the
-- connection died around COMMIT, e.g. in a failover) finds the code taken: if the row
-- carries its own token, the earlier attempt did commit and that row is the answer;
-- another token means someone else's link. A bulk request's rows share one token.
ALTER TABLE links ADD COLUMN creation_token uuid;

CREATE INDEX links_creation_token_idx ON links (creation_token)
    WHERE creation_token IS NOT NULL;
