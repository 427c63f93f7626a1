-- Per-workspace retention of stored clicks (issue 23, privacy), in days: the API's
-- sweep erases a workspace's clicks older than that from ClickHouse. 0 keeps them all
-- (the default: nothing changes for existing workspaces). A change is audited by the
-- workspaces trigger like any other setting.
ALTER TABLE workspaces ADD COLUMN IF NOT EXISTS click_retention_days integer NOT NULL DEFAULT 0
    CHECK (click_retention_days BETWEEN 0 AND 36600);
