-- 0002: the identity lifecycle: TOTP credentials (secret encrypted under the
-- server's data key) and their hashed recovery codes, identity blobs, and the
-- identity chains (rotations and cancellations; the genesis entry follows
-- from the identities row). Times are Unix nanoseconds (UTC).

CREATE TABLE totp_credentials (
	fingerprint   TEXT PRIMARY KEY REFERENCES identities (fingerprint),
	secret_sealed BYTEA NOT NULL,
	last_step     BIGINT NOT NULL DEFAULT 0,
	created_at    BIGINT NOT NULL,
	confirmed_at  BIGINT
);

CREATE TABLE totp_recovery_codes (
	fingerprint TEXT NOT NULL REFERENCES identities (fingerprint),
	hash        BYTEA NOT NULL,
	used_at     BIGINT,
	PRIMARY KEY (fingerprint, hash)
);

CREATE TABLE identity_blobs (
	fingerprint TEXT PRIMARY KEY REFERENCES identities (fingerprint),
	content     BYTEA NOT NULL,
	etag        TEXT NOT NULL,
	updated_at  BIGINT NOT NULL
);

CREATE TABLE chain_entries (
	fingerprint       TEXT NOT NULL REFERENCES identities (fingerprint),
	seq               BIGINT NOT NULL CHECK (seq > 0),
	kind              TEXT NOT NULL,
	prev              BYTEA NOT NULL,
	old_key           BYTEA NOT NULL,
	new_key           BYTEA NOT NULL,
	cancels           BIGINT NOT NULL DEFAULT 0,
	time              BIGINT NOT NULL,
	signature         BYTEA NOT NULL,
	new_key_signature BYTEA,
	hash              BYTEA NOT NULL,
	accepted_at       BIGINT NOT NULL,
	PRIMARY KEY (fingerprint, seq)
);
