-- 0014: group key generations. A refresh or reshare ceremony gives a group
-- key new shares, not a new public key: the key keeps its id and moves to
-- the next generation (a DKG's key is generation 1). group_keys holds the
-- current generation and group_key_confirmations its certificate;
-- group_key_history keeps every earlier generation with its certificate
-- (a JSON list of chusme.GroupKeyConfirmation), so that a client that knew
-- one generation can check each step to the current one. A ceremony
-- keeps the generation of the key it used (sign) or replaced (refresh,
-- reshare); a reshare its new participants and its dealers (JSON lists).
ALTER TABLE ceremonies ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ceremonies ADD COLUMN new_participants TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ceremonies ADD COLUMN dealers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE group_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;

CREATE TABLE group_key_history (
	key_id             TEXT NOT NULL REFERENCES group_keys (id) ON DELETE CASCADE,
	generation         INTEGER NOT NULL,
	threshold          INTEGER NOT NULL,
	participants       TEXT NOT NULL,
	verifying_shares   TEXT NOT NULL,
	public_key_package BLOB NOT NULL,
	ceremony_id        TEXT NOT NULL,
	created_at         INTEGER NOT NULL,
	issuer             TEXT NOT NULL,
	transcript         BLOB,
	confirmations      TEXT NOT NULL,
	PRIMARY KEY (key_id, generation)
) STRICT;
