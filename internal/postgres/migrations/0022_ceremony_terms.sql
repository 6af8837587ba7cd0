-- 0022: a ceremony's terms apart from its state. What a ceremony's request
-- fixed at its creation and never changes (its participants, its message,
-- a reshare's new participants and dealers) moves to a row of its own, so
-- that a submission, which rewrites the ceremony's state, does not rewrite
-- the terms with it: at 100 participants 6.7 KB of JSON in every rewrite
-- of the row, three times per participant in a DKG.
CREATE TABLE ceremony_terms (
	ceremony_id      TEXT PRIMARY KEY REFERENCES ceremonies (id) ON DELETE CASCADE,
	participants     TEXT NOT NULL,
	message          BYTEA,
	new_participants TEXT NOT NULL DEFAULT '[]',
	dealers          TEXT NOT NULL DEFAULT '[]'
);

INSERT INTO ceremony_terms (ceremony_id, participants, message, new_participants, dealers)
	SELECT id, participants, message, new_participants, dealers FROM ceremonies;

ALTER TABLE ceremonies DROP COLUMN participants;
ALTER TABLE ceremonies DROP COLUMN message;
ALTER TABLE ceremonies DROP COLUMN new_participants;
ALTER TABLE ceremonies DROP COLUMN dealers;
