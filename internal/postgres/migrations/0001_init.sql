-- 0001: identities, registration credentials, login challenges, sessions and
-- their refresh-token chains. Times are Unix nanoseconds (UTC), as in the
-- SQLite engine; NULL means "not yet" (banned_at, used_at, revoked_at).

CREATE TABLE identities (
	fingerprint TEXT PRIMARY KEY,
	genesis_key BYTEA NOT NULL,
	public_key  BYTEA NOT NULL,
	role        TEXT NOT NULL,
	status      TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	banned_at   BIGINT
);

-- At most one pending setup token: the row with id 1.
CREATE TABLE setup_tokens (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	hash       BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE invites (
	hash       BYTEA PRIMARY KEY,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT
);

CREATE TABLE challenges (
	id          TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	nonce       BYTEA NOT NULL,
	expires_at  BIGINT NOT NULL
);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	fingerprint  TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	revoked_at   BIGINT,
	reason       TEXT NOT NULL DEFAULT ''
);

CREATE INDEX sessions_fingerprint ON sessions (fingerprint);

CREATE TABLE refresh_tokens (
	hash       BYTEA PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	seq        BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	used_at    BIGINT,
	grace_used BOOLEAN NOT NULL DEFAULT false,
	UNIQUE (session_id, seq)
);
