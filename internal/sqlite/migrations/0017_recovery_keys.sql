-- 0017: recovery keys (docs/protocol.md §6). A chain entry may name the key
-- that signed it (signer: a recovery rotation's or a recovery cancellation's
-- recovery key, a recovery-keys entry's signer), and a recovery-keys entry
-- lists the new recovery keys in priority order with, for each key it
-- adds, that key's signature (JSON lists of base64 strings).
ALTER TABLE chain_entries ADD COLUMN signer BLOB;
ALTER TABLE chain_entries ADD COLUMN recovery_keys TEXT NOT NULL DEFAULT '[]';
ALTER TABLE chain_entries ADD COLUMN key_signatures TEXT NOT NULL DEFAULT '[]';
