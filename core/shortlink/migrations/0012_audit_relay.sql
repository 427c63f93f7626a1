-- How far the audit log has been published to the event bus (issue 21): one row, the
-- (txid, id) of the last entry sent. The relay (services/audit_relay.py) holds the row
-- locked while it publishes, so one API pod relays at a time; entries go out in
-- (txid, id) order, only from transactions older than every running one, so an entry
-- that commits late is never skipped.
CREATE TABLE audit_relay (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_txid  xid8 NOT NULL,
    last_id    bigint NOT NULL
);
-- Start from now: what was logged before the relay existed stays in PostgreSQL only.
INSERT INTO audit_relay (last_txid, last_id)
SELECT pg_snapshot_xmin(pg_current_snapshot()), coalesce(max(id), 0) FROM audit_log;
