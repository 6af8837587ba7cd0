package sqlstore

import (
	"context"
	"time"

	"github.com/chusme/chusme"
)

var (
	qPurgeTickets = newQuery(`DELETE FROM ws_tickets WHERE expires_at < ?`)
	qInsertTicket = newQuery(`INSERT INTO ws_tickets (hash, fingerprint, session_id, expires_at) VALUES (?, ?, ?, ?)`)
	// DELETE … RETURNING: of two concurrent consumers, on any nodes, one
	// waits for the other's row lock and then finds nothing.
	qConsumeTicket = newQuery(`DELETE FROM ws_tickets WHERE hash = ? RETURNING hash, fingerprint, session_id, expires_at`)
)

// CreateWSTicket stores a ticket and deletes the expired ones, in one
// transaction. CodeConflict if the hash exists.
func (s *Store) CreateWSTicket(ctx context.Context, t chusme.WSTicket) error {
	return s.wrap("create ws ticket", s.e.Write(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, s.sql[qPurgeTickets], time.Now().UnixNano()); err != nil {
			return err
		}
		_, err := c.Exec(ctx, s.sql[qInsertTicket], t.Hash, t.Fingerprint, t.SessionID, t.ExpiresAt.UnixNano())
		return err
	}))
}

// ConsumeWSTicket deletes and returns the ticket in one statement.
// CodeNotFound if unknown, consumed, or expired at now.
func (s *Store) ConsumeWSTicket(ctx context.Context, hash []byte, now time.Time) (chusme.WSTicket, error) {
	var t chusme.WSTicket
	var exp int64
	err := s.e.WriteOne(ctx, func(c Conn) error {
		return c.QueryRow(ctx, s.sql[qConsumeTicket], hash).Scan(&t.Hash, &t.Fingerprint, &t.SessionID, &exp)
	})
	switch {
	case noRows(err):
		return chusme.WSTicket{}, notFound("ticket")
	case err != nil:
		return chusme.WSTicket{}, s.wrap("consume ws ticket", err)
	}
	t.ExpiresAt = time.Unix(0, exp).UTC()
	if !now.Before(t.ExpiresAt) {
		return chusme.WSTicket{}, notFound("ticket")
	}
	return t, nil
}
