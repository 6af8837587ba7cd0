package chusmev1

// Close codes of the WebSocket, as the int the websocket libraries take: the
// CloseCode enum's values, the one table the server and the client library
// follow (realtime.proto says what a client does on each).
const (
	CloseNormal          = int(CloseCode_CLOSE_NORMAL)            // the peer said goodbye
	CloseGoingAway       = int(CloseCode_CLOSE_GOING_AWAY)        // the server is shutting down: reconnect with backoff
	ClosePolicy          = int(CloseCode_CLOSE_POLICY_VIOLATION)  // refused for a reason of policy (Origin): don't reconnect
	CloseTooBig          = int(CloseCode_CLOSE_MESSAGE_TOO_BIG)   // an inbound message was over 128 KiB
	CloseInternal        = int(CloseCode_CLOSE_INTERNAL_ERROR)    // the server failed: reconnect with backoff
	CloseTokenExpired    = int(CloseCode_CLOSE_TOKEN_EXPIRED)     // refresh the access token, then reconnect
	CloseTokenInvalid    = int(CloseCode_CLOSE_TOKEN_INVALID)     // bad, used or unknown credential, revoked session: log in again first
	CloseBanned          = int(CloseCode_CLOSE_BANNED)            // the identity is banned: don't reconnect
	CloseSlowConsumer    = int(CloseCode_CLOSE_SLOW_CONSUMER)     // the send queue overflowed: reconnect and resynchronise
	CloseTooManyRequests = int(CloseCode_CLOSE_TOO_MANY_REQUESTS) // kept sending while rate limited: back off, then reconnect
)
