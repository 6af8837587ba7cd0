package chusme

import (
	"context"
	"time"
)

// WSTicketTTL is how long a WebSocket ticket can be redeemed: 30 s, enough
// to open the connection right after fetching it, short enough that a ticket
// seen in a proxy log is useless.
const WSTicketTTL = 30 * time.Second

// WSTicket is a single-use credential for opening a WebSocket (DESIGN §6):
// a browser can't set headers on a WebSocket, so the credential travels in
// the URL, and a ticket that works once for 30 s is safer there than the
// access token. Only its hash is stored.
type WSTicket struct {
	Hash        []byte // SHA-256 of the ticket
	Fingerprint string // the identity it speaks for
	SessionID   string // the session of the access token that fetched it
	ExpiresAt   time.Time
}

// WSTicketResponse is the answer of POST /v1/ws/tickets.
type WSTicketResponse struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// WSTicketStore keeps WebSocket tickets. A ticket lost when the store is
// restored or a server restarts is harmless: its client fetches another.
type WSTicketStore interface {
	// CreateWSTicket stores a ticket (and may delete expired ones).
	// CodeConflict if the hash exists.
	CreateWSTicket(ctx context.Context, t WSTicket) error
	// ConsumeWSTicket deletes the ticket with that hash and returns it, in
	// one atomic step: of two concurrent callers at most one gets it.
	// CodeNotFound if it is unknown, already consumed, or expired at now.
	ConsumeWSTicket(ctx context.Context, hash []byte, now time.Time) (WSTicket, error)
}
