-- 0021: the administrator's view of ceremonies and invites.
--
-- The ceremony stats count ended ceremonies by their last change (the
-- closed_updated_at index of 0008) and open ones by their creation: this
-- index (with status first, so that SQLite's planner prefers it to
-- status_deadline's scan of every open ceremony).
CREATE INDEX ceremonies_open_created_at ON ceremonies (status, created_at) WHERE status = 'open';

-- An invite gets an id to be listed and revoked by (never its hash), and
-- records who used it. Invites made before 0021 get a random id.
ALTER TABLE invites ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE invites ADD COLUMN used_by TEXT NOT NULL DEFAULT '';
UPDATE invites SET id = md5(random()::text || clock_timestamp()::text);
CREATE UNIQUE INDEX invites_id ON invites (id);
-- The list, newest first.
CREATE INDEX invites_created_at ON invites (created_at, id);
