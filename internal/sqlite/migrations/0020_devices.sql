-- 0020: several devices per identity (docs/protocol.md §6, "Devices"). An
-- identity keeps its current device keys (a JSON list of base64 strings,
-- public_key first; '[]' until a chain entry sets it: public_key alone); a
-- device addition's chain entry keeps its join request's time; a session
-- keeps the device key that logged in (NULL for sessions made before), so
-- that removing or rotating a device ends that device's sessions only.
ALTER TABLE identities ADD COLUMN device_keys TEXT NOT NULL DEFAULT '[]';
ALTER TABLE chain_entries ADD COLUMN join_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN device_key BLOB;
