package auth

import (
	"context"
	"crypto/rand"

	"github.com/chusme/chusme"
)

// WebSocket credentials (DESIGN §6). A browser can't set headers on a
// WebSocket, so the credential travels in the URL: preferably a single-use
// ticket valid chusme.WSTicketTTL, fetched with the access token; for
// clients of the old server, the access token itself. Unlike Authenticate,
// these report a banned identity as chusme.CodeBanned (its sessions were
// revoked with reason "ban"), because the WebSocket close code differs.

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
// used or expired ticket; CodeSessionRevoked or CodeBanned otherwise.
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
	return p, s.CheckSession(ctx, p)
}

// AuthenticateWS is Authenticate for a WebSocket's ?token=: a banned
// identity's token fails with CodeBanned instead of CodeSessionRevoked.
func (s *Service) AuthenticateWS(ctx context.Context, accessToken string) (Principal, error) {
	p, err := s.Authenticate(ctx, accessToken)
	if chusme.ErrorCode(err) != chusme.CodeSessionRevoked {
		return p, err
	}
	c, verr := s.issuer.Validate(accessToken)
	if verr != nil {
		return Principal{}, err
	}
	if s.CheckSession(ctx, Principal{Fingerprint: c.Subject, SessionID: c.SessionID}) != nil {
		if sess, gerr := s.store.GetSession(ctx, c.SessionID); gerr == nil && sess.Reason == chusme.RevokedBan {
			return Principal{}, chusme.Errorf(chusme.CodeBanned, "the identity is banned")
		}
	}
	return Principal{}, err
}

// CheckSession returns nil while the principal's session is live: not
// revoked, not expired, and of that identity. It fails with CodeBanned when
// the session ended because the identity was banned, CodeSessionRevoked
// otherwise. A WebSocket checks it periodically, so that a logout or a ban
// on another server node closes the connection.
func (s *Service) CheckSession(ctx context.Context, p Principal) error {
	sess, err := s.store.GetSession(ctx, p.SessionID)
	switch {
	case chusme.ErrorCode(err) == chusme.CodeNotFound:
		return chusme.Errorf(chusme.CodeSessionRevoked, "session has ended")
	case err != nil:
		return err
	case sess.Fingerprint != p.Fingerprint:
		return chusme.Errorf(chusme.CodeSessionRevoked, "session has ended")
	case sess.Revoked() && sess.Reason == chusme.RevokedBan:
		return chusme.Errorf(chusme.CodeBanned, "the identity is banned")
	case sess.Revoked() || !s.now().Before(sess.ExpiresAt):
		return chusme.Errorf(chusme.CodeSessionRevoked, "session has ended")
	}
	return nil
}
