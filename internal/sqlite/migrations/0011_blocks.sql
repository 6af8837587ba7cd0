-- 0011: an identity may block others from inviting it to ceremonies
-- (chusme.BlockStore): a ceremony naming a blocker as a participant is
-- refused when its creator is blocked. At most chusme.MaxBlocks rows per
-- blocker; the primary key answers both the list and the check.
CREATE TABLE blocks (
	blocker    TEXT NOT NULL,
	blocked    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (blocker, blocked)
);
