-- Links declared as Kubernetes ShortLink resources. `managed_by` is the resource's
-- "namespace/name": the operator only writes rows it manages, and a code already used by
-- an API link (managed_by NULL) or another ShortLink is a conflict, never a takeover.
-- `managed_uid` records the resource instance that last wrote the row. Such rows have no
-- API owner, so the API's owner-scoped reads and writes never match them.
ALTER TABLE links ADD COLUMN managed_by text, ADD COLUMN managed_uid text;

-- "The link of this ShortLink" (latest first) and the drift check's scan.
CREATE INDEX links_managed_by_idx ON links (managed_by, updated_at DESC)
    WHERE managed_by IS NOT NULL;
