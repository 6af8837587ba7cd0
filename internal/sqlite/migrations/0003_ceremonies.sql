-- 0003: FROST ceremonies, their submissions, group keys and used signing
-- commitments. Times are Unix nanoseconds (UTC). Lists of fingerprints are
-- JSON arrays.

CREATE TABLE ceremonies (
	id               TEXT PRIMARY KEY,
	kind             TEXT NOT NULL,
	creator          TEXT NOT NULL,
	status           TEXT NOT NULL,
	round            INTEGER NOT NULL,
	threshold        INTEGER NOT NULL,
	participants     TEXT NOT NULL,
	key_id           TEXT NOT NULL DEFAULT '',
	message          BLOB,
	submitted        TEXT NOT NULL DEFAULT '[]',
	deadline         INTEGER NOT NULL,
	version          INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	round_started_at INTEGER NOT NULL,
	transcript       BLOB,
	signing_package  BLOB,
	failure_reason   TEXT NOT NULL DEFAULT '',
	failure_message  TEXT NOT NULL DEFAULT '',
	culprits         TEXT NOT NULL DEFAULT '[]',
	result_key_id    TEXT NOT NULL DEFAULT '',
	signature        BLOB
) STRICT;

-- The deadline scheduler scans open ceremonies by deadline.
CREATE INDEX ceremonies_status_deadline ON ceremonies (status, deadline);

-- Who may see a ceremony: its participants and its creator.
CREATE TABLE ceremony_members (
	fingerprint TEXT NOT NULL,
	ceremony_id TEXT NOT NULL REFERENCES ceremonies (id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (fingerprint, ceremony_id)
) STRICT;

-- One row per package; recipient is '' for a broadcast. A slot is written
-- once and never changed.
CREATE TABLE ceremony_submissions (
	ceremony_id TEXT NOT NULL REFERENCES ceremonies (id) ON DELETE CASCADE,
	round       INTEGER NOT NULL,
	sender      TEXT NOT NULL,
	recipient   TEXT NOT NULL,
	payload     BLOB NOT NULL,
	signature   BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (ceremony_id, round, sender, recipient)
) STRICT;

CREATE TABLE group_keys (
	id                 TEXT PRIMARY KEY,
	public_key         BLOB NOT NULL,
	threshold          INTEGER NOT NULL,
	participants       TEXT NOT NULL,
	verifying_shares   TEXT NOT NULL,
	public_key_package BLOB NOT NULL,
	ceremony_id        TEXT NOT NULL,
	created_at         INTEGER NOT NULL
) STRICT;

-- Signing commitments seen per key: a commitment is accepted once.
CREATE TABLE used_commitments (
	key_id      TEXT NOT NULL,
	digest      BLOB NOT NULL,
	ceremony_id TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (key_id, digest)
) STRICT;
