-- 0007: signed ceremony requests. A ceremony keeps its creator's signed
-- request (chusme.CeremonyRequestMessage over the ceremony's own fields and
-- these): the deadline (Unix seconds), the client-chosen nonce and the
-- signature. A creator's nonce is used once: a second request with it is a
-- uniqueness violation (ceremonies made before 0007 have none, and NULLs
-- never collide).

ALTER TABLE ceremonies ADD COLUMN request_deadline INTEGER;
ALTER TABLE ceremonies ADD COLUMN request_nonce BLOB;
ALTER TABLE ceremonies ADD COLUMN request_signature BLOB;

CREATE UNIQUE INDEX ceremonies_creator_request_nonce ON ceremonies (creator, request_nonce);
