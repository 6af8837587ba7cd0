-- 0012: a member's ceremonies, newest first, one page at a time: the list
-- reads this index in order (fingerprint, then creation time descending,
-- then id) instead of sorting every ceremony of the member.
CREATE INDEX ceremony_members_by_time ON ceremony_members (fingerprint, created_at DESC, ceremony_id);
