-- 0016: a sender's point-to-point packages of one round (a DKG's round 2:
-- n - 1 of them) are one row here, packages holding them all (their
-- encoding is internal/sqlstore's), instead of n - 1 rows of
-- ceremony_submissions: one row written per submission, not n - 1 rows
-- and as many entries of the recipient index spread over its pages.
-- Broadcasts stay in ceremony_submissions, as do the packages stored
-- before this migration, which are read with these.
CREATE TABLE ceremony_packages (
	ceremony_id TEXT NOT NULL REFERENCES ceremonies (id) ON DELETE CASCADE,
	round       INTEGER NOT NULL,
	sender      TEXT NOT NULL,
	packages    BYTEA NOT NULL,
	PRIMARY KEY (ceremony_id, round, sender)
);
