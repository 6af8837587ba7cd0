-- 0003: FROST ceremonies, their submissions, group keys and used signing
-- commitments. Times are Unix nanoseconds (UTC). Lists of fingerprints are
-- JSON arrays in TEXT, byte for byte as the SQLite engine stores them.

CREATE TABLE ceremonies (
	id               TEXT PRIMARY KEY,
	kind             TEXT NOT NULL,
	creator          TEXT NOT NULL,
	status           TEXT NOT NULL,
	round            INTEGER NOT NULL,
	threshold        INTEGER NOT NULL,
	participants     TEXT NOT NULL,
	key_id           TEXT NOT NULL DEFAULT '',
	message          BYTEA,
	submitted        TEXT NOT NULL DEFAULT '[]',
	deadline         BIGINT NOT NULL,
	version          BIGINT NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	round_started_at BIGINT NOT NULL,
	transcript       BYTEA,
	signing_package  BYTEA,
	failure_reason   TEXT NOT NULL DEFAULT '',
	failure_message  TEXT NOT NULL DEFAULT '',
	culprits         TEXT NOT NULL DEFAULT '[]',
	result_key_id    TEXT NOT NULL DEFAULT '',
	signature        BYTEA
);

-- The deadline scheduler scans open ceremonies by deadline.
CREATE INDEX ceremonies_status_deadline ON ceremonies (status, deadline);

-- Who may see a ceremony: its participants and its creator.
CREATE TABLE ceremony_members (
	fingerprint TEXT NOT NULL,
	ceremony_id TEXT NOT NULL REFERENCES ceremonies (id) ON DELETE CASCADE,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (fingerprint, ceremony_id)
);

-- One row per package; recipient is '' for a broadcast. A slot is written
-- once and never changed.
CREATE TABLE ceremony_submissions (
	ceremony_id TEXT NOT NULL REFERENCES ceremonies (id) ON DELETE CASCADE,
	round       INTEGER NOT NULL,
	sender      TEXT NOT NULL,
	recipient   TEXT NOT NULL,
	payload     BYTEA NOT NULL,
	signature   BYTEA NOT NULL,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (ceremony_id, round, sender, recipient)
);

CREATE TABLE group_keys (
	id                 TEXT PRIMARY KEY,
	public_key         BYTEA NOT NULL,
	threshold          INTEGER NOT NULL,
	participants       TEXT NOT NULL,
	verifying_shares   TEXT NOT NULL,
	public_key_package BYTEA NOT NULL,
	ceremony_id        TEXT NOT NULL,
	created_at         BIGINT NOT NULL
);

-- Signing commitments seen per key: a commitment is accepted once.
CREATE TABLE used_commitments (
	key_id      TEXT NOT NULL,
	digest      BYTEA NOT NULL,
	ceremony_id TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	PRIMARY KEY (key_id, digest)
);
