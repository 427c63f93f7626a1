-- The UID of the namespace whose ShortLink wrote a managed row (issue 13, finding 9).
-- "namespace/name" alone names a namespace by its name, so a namespace deleted and
-- re-created under that name (by anyone allowed to create namespaces) would reclaim the
-- old one's codes; the UID tells the two apart. NULL: written before this column; the
-- first live ShortLink of that namespace/name records its namespace's UID (adopts it).
--
-- Online-safe: a nullable column without a default changes only the catalog (no table
-- rewrite, no scan). Its ACCESS EXCLUSIVE lock is brief, but queued behind a long
-- transaction it would queue every query on links behind itself: give up after 5 s
-- instead (the migration fails; the init container's restart tries again).
SET LOCAL lock_timeout = '5s';
ALTER TABLE links ADD COLUMN managed_namespace_uid text;
