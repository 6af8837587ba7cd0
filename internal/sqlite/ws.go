package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chusme/chusme"
)

// CreateWSTicket stores a ticket and deletes the expired ones, in one
// transaction. CodeConflict if the hash exists.
func (db *DB) CreateWSTicket(ctx context.Context, t chusme.WSTicket) error {
	return wrap("create ws ticket", db.tx(ctx, func(tx stmtTx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ws_tickets WHERE expires_at < ?`, time.Now().UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ws_tickets (hash, fingerprint, session_id, expires_at) VALUES (?, ?, ?, ?)`,
			t.Hash, t.Fingerprint, t.SessionID, t.ExpiresAt.UnixNano())
		return err
	}))
}

// ConsumeWSTicket deletes and returns the ticket in one statement.
// CodeNotFound if unknown, consumed, or expired at now.
func (db *DB) ConsumeWSTicket(ctx context.Context, hash []byte, now time.Time) (chusme.WSTicket, error) {
	var t chusme.WSTicket
	var exp int64
	err := db.tx(ctx, func(tx stmtTx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM ws_tickets WHERE hash = ? RETURNING hash, fingerprint, session_id, expires_at`, hash).
			Scan(&t.Hash, &t.Fingerprint, &t.SessionID, &exp)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chusme.WSTicket{}, notFound("ticket")
	case err != nil:
		return chusme.WSTicket{}, wrap("consume ws ticket", err)
	}
	t.ExpiresAt = time.Unix(0, exp).UTC()
	if !now.Before(t.ExpiresAt) {
		return chusme.WSTicket{}, notFound("ticket")
	}
	return t, nil
}
