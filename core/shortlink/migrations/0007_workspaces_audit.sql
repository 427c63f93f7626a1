-- Workspaces, members with roles, role-carrying API keys, and the audit log (issue 21).
--
-- Every existing owner string becomes one workspace whose slug IS that string, and the
-- `owner` columns of links, api_keys and idempotency_keys keep their names and values,
-- now meaning "the workspace's slug" (for api_keys a foreign key says so). Why not one default
-- workspace for everything: owners are isolated from each other today (a key sees only
-- its owner's links), and merging them would show every tenant's links to every other.
-- Why not rename the columns: pods of the previous release keep running during a
-- rolling upgrade and still query `owner`; a rename would break them mid-rollout.
-- A rollout caveat: a key minted through an old pod for a brand-new owner fails (the
-- workspace does not exist yet) until the new pods take over.
SET LOCAL lock_timeout = '5s';

CREATE TABLE workspaces (
    -- Any owner string of before is a slug; new ones are DNS labels (the API checks).
    slug                  text PRIMARY KEY,
    name                  text NOT NULL,
    -- Audit entries older than this are deleted by the retention sweep (and only then).
    audit_retention_days  integer NOT NULL DEFAULT 400
                          CHECK (audit_retention_days BETWEEN 1 AND 3650),
    created_at            timestamptz NOT NULL DEFAULT now()
);

INSERT INTO workspaces (slug, name)
SELECT owner, owner FROM (
    SELECT owner FROM api_keys
    UNION SELECT owner FROM links WHERE owner IS NOT NULL
    UNION SELECT owner FROM idempotency_keys
) AS owners;

-- People, by the identity the sign-in asserts (an e-mail address, lower case).
CREATE TABLE workspace_members (
    workspace  text NOT NULL
               REFERENCES workspaces (slug) ON UPDATE CASCADE ON DELETE CASCADE,
    subject    text NOT NULL CHECK (length(subject) BETWEEN 1 AND 320),
    role       text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace, subject)
);
CREATE INDEX workspace_members_subject ON workspace_members (subject);

-- A key's role in its workspace. Before 0007 a non-admin key could manage its owner's
-- links and mint and revoke its owner's non-admin keys: that is the admin role. An
-- admin key (is_admin, which keeps meaning "instance administrator") is its
-- workspace's owner. The default serves inserts from pods of the previous release.
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin'
    CHECK (role IN ('owner', 'admin', 'editor', 'viewer'));
UPDATE api_keys SET role = 'owner' WHERE is_admin;

ALTER TABLE api_keys ADD CONSTRAINT api_keys_workspace_fkey
    FOREIGN KEY (owner) REFERENCES workspaces (slug) ON UPDATE CASCADE;
-- links.owner gets no foreign key: validating one would scan the whole links table
-- under a lock during the upgrade, and ShortLinks' rows name their workspace from a
-- namespace label, which may come before the workspace does. Every API write takes
-- the owner from a key (or person) of an existing workspace.

-- The audit log. Written by triggers on the audited tables, so every change, whichever
-- code path makes it (API, operator, CLI, a DBA's psql), is logged in the very transaction
-- that makes it. Who made it comes from settings the application puts in the transaction
-- (shortlink.actor_kind, .actor, .ip, .user_agent, .request_id; see adapters/audit.py);
-- without them the change is the database role's ("system").
--
-- Append-only: triggers, not only privileges, guard it, so that even a deployment that
-- connects as the table's owner (small installs do) can't rewrite history: no UPDATE,
-- no TRUNCATE, and a DELETE only of entries past their workspace's retention. `at` is
-- always the inserting transaction's time: an entry can't be backdated to be deletable.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace    text NOT NULL,  -- no FK: the log outlives a deleted workspace
    at           timestamptz NOT NULL DEFAULT now(),
    actor_kind   text NOT NULL
                 CHECK (actor_kind IN ('user', 'key', 'service_account', 'operator', 'system')),
    actor        text NOT NULL,
    action       text NOT NULL,  -- "<target_type>.<create|update|delete|revoke|...>"
    target_type  text NOT NULL,  -- link, key, member, workspace
    target       text NOT NULL,  -- its code, id, member or slug
    outcome      text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'denied')),
    before       jsonb,  -- the changed fields' old values (updates: only those that changed)
    after        jsonb,
    ip           text,
    user_agent   text,
    request_id   text,
    -- The writing transaction: the bus relay publishes entries in (txid, id) order up to
    -- the oldest transaction still running, so an entry committed late is never skipped.
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX audit_log_workspace ON audit_log (workspace, id DESC);
CREATE INDEX audit_log_target ON audit_log (workspace, target_type, target, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_txid ON audit_log (txid, id);

CREATE FUNCTION audit_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.at := now();
    NEW.txid := pg_current_xact_id();
    RETURN NEW;
END $$;

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < now() - make_interval(days => coalesce(
            (SELECT audit_retention_days FROM workspaces WHERE slug = OLD.workspace), 400)) THEN
        RETURN OLD;  -- past its retention: the sweep may delete it
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_stamp();
CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, TRUNCATE ON audit_log FROM PUBLIC;

-- A row as the log shows it: secrets never (a key's digest), a password only as a
-- short fingerprint of its hash (enough to see that it changed), bookkeeping dropped
-- (clicks_reserved, from 0009 if present, moves with clicks: it is no one's change).
CREATE FUNCTION audit_visible(row_data jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN row_data ? 'password_hash' THEN
               jsonb_set(row_data - 'password_hash', '{password}',
                         CASE WHEN row_data ->> 'password_hash' IS NULL THEN 'null'::jsonb
                              ELSE to_jsonb('set:' || left(md5(row_data ->> 'password_hash'), 8))
                         END)
           ELSE row_data END
           - 'key_hash' - 'creation_token' - 'updated_at' - 'id' - 'managed_uid'
           - 'clicks_reserved'
$$;

-- TG_ARGV: target type, workspace column, target column.
CREATE FUNCTION audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    workspace text := coalesce(new_row ->> TG_ARGV[1], old_row ->> TG_ARGV[1]);
    before jsonb := audit_visible(old_row);
    after jsonb := audit_visible(new_row);
    verb text := CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'DELETE' THEN 'delete' END;
    actor text := nullif(current_setting('shortlink.actor', true), '');
BEGIN
    IF workspace IS NULL THEN
        RETURN NULL;  -- an anonymous link: in no workspace, so in no workspace's log
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(key, value) INTO before
          FROM jsonb_each(audit_visible(old_row)) WHERE after -> key IS DISTINCT FROM value;
        SELECT jsonb_object_agg(key, value) INTO after
          FROM jsonb_each(audit_visible(new_row)) WHERE audit_visible(old_row) -> key IS DISTINCT FROM value;
        IF after IS NULL THEN
            RETURN NULL;  -- nothing visible changed
        END IF;
        verb := CASE WHEN after ? 'deleted_at' AND after ->> 'deleted_at' IS NOT NULL THEN 'delete'
                     WHEN after ? 'deleted_at' THEN 'restore'
                     WHEN after ? 'revoked_at' THEN 'revoke'
                     ELSE 'update' END;
    END IF;
    INSERT INTO audit_log (workspace, actor_kind, actor, action, target_type, target,
                           before, after, ip, user_agent, request_id)
    VALUES (workspace,
            CASE WHEN actor IS NULL THEN 'system'
                 ELSE current_setting('shortlink.actor_kind', true) END,
            coalesce(actor, session_user::text),
            TG_ARGV[0] || '.' || verb, TG_ARGV[0],
            coalesce(new_row ->> TG_ARGV[2], old_row ->> TG_ARGV[2]),
            before, after,
            nullif(current_setting('shortlink.ip', true), ''),
            nullif(current_setting('shortlink.user_agent', true), ''),
            nullif(current_setting('shortlink.request_id', true), ''));
    RETURN NULL;
END $$;

CREATE TRIGGER links_audit AFTER INSERT OR UPDATE OR DELETE ON links
    FOR EACH ROW EXECUTE FUNCTION audit_change('link', 'owner', 'code');
CREATE TRIGGER api_keys_audit AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION audit_change('key', 'owner', 'id');
CREATE TRIGGER workspace_members_audit AFTER INSERT OR UPDATE OR DELETE ON workspace_members
    FOR EACH ROW EXECUTE FUNCTION audit_change('member', 'workspace', 'subject');
CREATE TRIGGER workspaces_audit AFTER INSERT OR UPDATE OR DELETE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION audit_change('workspace', 'slug', 'slug');
