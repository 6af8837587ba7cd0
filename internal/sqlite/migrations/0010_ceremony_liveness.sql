-- 0010: ceremonies a real group can finish. Each ceremony keeps its round
-- timeout (nanoseconds; ceremonies made before 0010 had the 5-minute
-- default) and the one its request signed (seconds, 0 for the server's
-- default); a signing ceremony whether every candidate must sign
-- (all_signers, 0 or 1; before 0010 every listed signer signed) and, from
-- round 2, the signers its signing package holds and the signers it
-- started over without, after they went silent (JSON lists); and every
-- ceremony the participants' signed declines (a JSON list of
-- {fingerprint, round, signature}).

ALTER TABLE ceremonies ADD COLUMN round_timeout INTEGER NOT NULL DEFAULT 300000000000;
ALTER TABLE ceremonies ADD COLUMN request_round_timeout INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ceremonies ADD COLUMN all_signers INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ceremonies ADD COLUMN signers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ceremonies ADD COLUMN excluded TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ceremonies ADD COLUMN declines TEXT NOT NULL DEFAULT '[]';

-- A signing ceremony already in round 2 signs with every listed signer.
UPDATE ceremonies SET signers = participants WHERE kind = 'sign' AND round = 2;
