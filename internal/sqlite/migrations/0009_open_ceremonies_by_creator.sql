-- 0009: every creation counts its creator's open ceremonies (the bound of
-- --ceremony-open-max); this index answers the count without a scan.
CREATE INDEX ceremonies_creator_status ON ceremonies (creator, status);
