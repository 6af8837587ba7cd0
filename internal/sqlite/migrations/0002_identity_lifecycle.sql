-- 0002: the identity lifecycle: TOTP credentials (secret encrypted under the
-- server's data key) and their hashed recovery codes, identity blobs, and the
-- identity chains (rotations and cancellations; the genesis entry follows
-- from the identities row). Times are Unix nanoseconds (UTC).

CREATE TABLE totp_credentials (
	fingerprint   TEXT PRIMARY KEY REFERENCES identities (fingerprint),
	secret_sealed BLOB NOT NULL,
	last_step     INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	confirmed_at  INTEGER
) STRICT;

CREATE TABLE totp_recovery_codes (
	fingerprint TEXT NOT NULL REFERENCES identities (fingerprint),
	hash        BLOB NOT NULL,
	used_at     INTEGER,
	PRIMARY KEY (fingerprint, hash)
) STRICT;

CREATE TABLE identity_blobs (
	fingerprint TEXT PRIMARY KEY REFERENCES identities (fingerprint),
	content     BLOB NOT NULL,
	etag        TEXT NOT NULL,
	updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE chain_entries (
	fingerprint       TEXT NOT NULL REFERENCES identities (fingerprint),
	seq               INTEGER NOT NULL CHECK (seq > 0),
	kind              TEXT NOT NULL,
	prev              BLOB NOT NULL,
	old_key           BLOB NOT NULL,
	new_key           BLOB NOT NULL,
	cancels           INTEGER NOT NULL DEFAULT 0,
	time              INTEGER NOT NULL,
	signature         BLOB NOT NULL,
	new_key_signature BLOB,
	hash              BLOB NOT NULL,
	accepted_at       INTEGER NOT NULL,
	PRIMARY KEY (fingerprint, seq)
) STRICT;
