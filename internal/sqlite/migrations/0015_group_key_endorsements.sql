-- 0015: group key endorsements. A refresh or reshare makes a key's next
-- generation; the holders of the generation before that take part sign
-- its endorsement (chusme.GroupKeyEndorseMessage) in round 3. Every
-- generation keeps the kind of the ceremony that made it (a DKG's key,
-- and any made before this migration, 'dkg') and those endorsements (a
-- JSON list of chusme.GroupKeyConfirmation, in the ceremony's order):
-- in group_keys for the current generation, in group_key_history for
-- the earlier ones.
ALTER TABLE group_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'dkg';
ALTER TABLE group_keys ADD COLUMN endorsements TEXT NOT NULL DEFAULT '[]';
ALTER TABLE group_key_history ADD COLUMN kind TEXT NOT NULL DEFAULT 'dkg';
ALTER TABLE group_key_history ADD COLUMN endorsements TEXT NOT NULL DEFAULT '[]';
