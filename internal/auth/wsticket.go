package auth

import (
	"context"
	"crypto/rand"

	"github.com/chusme/chusme"
)

// WebSocket credentials (DESIGN §6). A browser can't set headers on a
// WebSocket, so the credential travels in the URL: preferably a single-use
// ticket valid chusme.WSTicketTTL, fetched with the access token; for
// clients of the old server, the access token itself (Authenticate). Both
// answer an ended session as every HTTP request does (LiveSession).

// IssueWSTicket returns a new single-use WebSocket ticket for the
// principal's session. Only its hash is stored.
func (s *Service) IssueWSTicket(ctx context.Context, p Principal) (chusme.WSTicketResponse, error) {
	ticket := rand.Text()
	exp := s.now().UTC().Add(chusme.WSTicketTTL)
	if err := s.store.CreateWSTicket(ctx, chusme.WSTicket{
		Hash: hashSecret(ticket), Fingerprint: p.Fingerprint, SessionID: p.SessionID, ExpiresAt: exp,
	}); err != nil {
		return chusme.WSTicketResponse{}, err
	}
	return chusme.WSTicketResponse{Ticket: ticket, ExpiresAt: exp}, nil
}

// RedeemWSTicket consumes a ticket and returns whom it speaks for, after
// checking that its session is still live. CodeTokenInvalid for an unknown,
// used or expired ticket; LiveSession's errors otherwise.
func (s *Service) RedeemWSTicket(ctx context.Context, ticket string) (Principal, error) {
	if ticket == "" {
		return Principal{}, chusme.Errorf(chusme.CodeTokenInvalid, "ticket is empty")
	}
	t, err := s.store.ConsumeWSTicket(ctx, hashSecret(ticket), s.now())
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return Principal{}, chusme.Errorf(chusme.CodeTokenInvalid, "unknown, used or expired ticket")
	}
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Fingerprint: t.Fingerprint, SessionID: t.SessionID}
	if _, err := s.LiveSession(ctx, p); err != nil {
		return Principal{}, err
	}
	return p, nil
}
