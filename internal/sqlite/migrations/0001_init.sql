-- 0001: identities, registration credentials, login challenges, sessions and
-- their refresh-token chains. Times are Unix nanoseconds (UTC); NULL means
-- "not yet" (banned_at, used_at, revoked_at).

CREATE TABLE identities (
	fingerprint TEXT PRIMARY KEY,
	genesis_key BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	role        TEXT NOT NULL,
	status      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	banned_at   INTEGER
) STRICT;

-- At most one pending setup token: the row with id 1.
CREATE TABLE setup_tokens (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	hash       BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE invites (
	hash       BLOB PRIMARY KEY,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;

CREATE TABLE challenges (
	id          TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	nonce       BLOB NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	fingerprint  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER,
	reason       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_fingerprint ON sessions (fingerprint);

CREATE TABLE refresh_tokens (
	hash       BLOB PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER,
	grace_used INTEGER NOT NULL DEFAULT 0,
	UNIQUE (session_id, seq)
) STRICT;
