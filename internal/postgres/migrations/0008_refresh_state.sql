-- 0008: a session's refresh state is three columns of its row, whatever the
-- number of refreshes: the sequence number of its newest refresh token, when
-- that token was issued, and whether the grace re-presentation of the token
-- before it is spent. Refresh tokens name their session and sequence number
-- and are authenticated by the server (docs/protocol.md §4), so no token is
-- stored. The tokens of sessions made before 0008 were random and are gone
-- with their table: those sessions' access tokens live out their lifetime,
-- then their users log in again.

ALTER TABLE sessions ADD COLUMN refresh_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN refresh_issued_at BIGINT;
ALTER TABLE sessions ADD COLUMN grace_used BOOLEAN NOT NULL DEFAULT FALSE;

DROP TABLE refresh_tokens;

-- The purge deletes ended sessions in batches, by each way they end.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_last_used_at ON sessions (last_used_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX ceremonies_closed_updated_at ON ceremonies (updated_at) WHERE status <> 'open';
