-- 0004: single-use WebSocket tickets (DESIGN §6). Only the SHA-256 of a
-- ticket is stored; a row is deleted when the ticket is redeemed. Times are
-- Unix nanoseconds (UTC).

CREATE TABLE ws_tickets (
	hash        BYTEA PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	session_id  TEXT NOT NULL,
	expires_at  BIGINT NOT NULL
);

CREATE INDEX ws_tickets_expires_at ON ws_tickets (expires_at);
