-- Idempotency-Key: a client's retry of POST /v1/urls gets the original response.
-- Written in the same transaction as the link, so the two commit (or vanish) together,
-- on whichever primary; a concurrent duplicate waits on the primary key until the
-- first commits, then replays it. Rows older than 24 h are ignored and deleted on reuse.
CREATE TABLE idempotency_keys (
    owner text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    status smallint NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
