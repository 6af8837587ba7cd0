-- 0018: the administrator's list of identities of one status, by
-- fingerprint (GET /v1/admin/identities?status=), reads an index, not the
-- whole table.
CREATE INDEX identities_status ON identities (status, fingerprint);
