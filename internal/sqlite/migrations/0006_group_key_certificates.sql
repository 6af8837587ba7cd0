-- 0006: group key certificates. Every DKG participant signs its round-3
-- confirmation (chusme.GroupKeyConfirmMessage) with its identity key; the
-- group key keeps the issuer and transcript they signed, and one row per
-- participant here: its chain head, the key at that head and the
-- signature, in the participants' order (position). A ceremony keeps the
-- group public key it created or used.

ALTER TABLE group_keys ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE group_keys ADD COLUMN transcript BLOB;

CREATE TABLE group_key_confirmations (
	key_id      TEXT NOT NULL REFERENCES group_keys (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	fingerprint TEXT NOT NULL,
	head_seq    INTEGER NOT NULL,
	head_hash   BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	signature   BLOB NOT NULL,
	PRIMARY KEY (key_id, position)
) STRICT;

ALTER TABLE ceremonies ADD COLUMN public_key BLOB;
