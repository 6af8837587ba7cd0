-- 0013: a participant's inbox is the round's broadcasts (recipient '') and
-- the packages addressed to it; this index reads them without scanning the
-- n·(n-1) packages of a DKG's round 2.
CREATE INDEX ceremony_submissions_recipient ON ceremony_submissions (ceremony_id, round, recipient);
