-- 0005: login challenges are no longer stored when issued: the server
-- authenticates a challenge's id (which carries its fingerprint, expiry and
-- nonce) with a MAC. Answering one records it here, so that it is answered
-- at most once; the record can go when the challenge has expired. Keyed by
-- expiry first, so inserts land at the end of the tree and a purge deletes
-- a prefix. Challenges issued before this migration can't be answered.

DROP TABLE challenges;

CREATE TABLE used_challenges (
	expires_at INTEGER NOT NULL,
	nonce      BLOB NOT NULL,
	PRIMARY KEY (expires_at, nonce)
) STRICT, WITHOUT ROWID;
