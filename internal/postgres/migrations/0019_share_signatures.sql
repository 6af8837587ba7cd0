-- 0019: share signatures. Every holder also signs its round-3 confirmation
-- with its signing share (chusme.SharePossessionMessage, verified under its
-- verifying share); the certificate keeps it with the confirmation. Rows of
-- keys made before have none.

ALTER TABLE group_key_confirmations ADD COLUMN share_signature BYTEA;
