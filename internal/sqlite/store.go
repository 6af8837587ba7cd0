package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chusme/chusme"
)

// PutSetupToken records the hash of a new setup token, replacing any pending
// one. CodeConflict if an identity exists already.
func (db *DB) PutSetupToken(ctx context.Context, hash []byte, createdAt time.Time) error {
	return wrap("put setup token", db.tx(ctx, func(tx stmtTx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM identities)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return chusme.Errorf(chusme.CodeConflict, "an identity exists already")
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO setup_tokens (id, hash, created_at) VALUES (1, ?, ?)`,
			hash, unixNano(createdAt))
		return err
	}))
}

// SetupPending reports whether a setup token waits to be redeemed.
func (db *DB) SetupPending(ctx context.Context) (bool, error) {
	var pending bool
	err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens)`).Scan(&pending)
	return pending, wrap("setup pending", err)
}

// CreateIdentity registers id, redeeming adm in the same transaction.
// CodeConflict if the fingerprint exists; CodeNotFound if the invite or setup
// token is unknown, used, or (invite) expired, or if a setup token is
// redeemed while an identity exists.
func (db *DB) CreateIdentity(ctx context.Context, id chusme.Identity, adm chusme.Admission) error {
	return wrap("create identity", db.tx(ctx, func(tx stmtTx) error {
		var res sql.Result
		var err error
		switch adm.Kind {
		case chusme.AdmitOpen:
		case chusme.AdmitInvite:
			if adm.Now.IsZero() {
				return errors.New("invite admission without a time")
			}
			res, err = tx.ExecContext(ctx, `UPDATE invites SET used_at = ?
				WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
				adm.Now.UnixNano(), adm.TokenHash, adm.Now.UnixNano())
		case chusme.AdmitSetup:
			res, err = tx.ExecContext(ctx, `DELETE FROM setup_tokens
				WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM identities)`, adm.TokenHash)
		default:
			return fmt.Errorf("unknown admission kind %q", adm.Kind)
		}
		if err != nil {
			return err
		}
		if res != nil {
			if err := oneRow(res, adm.Kind+" token"); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO identities
			(fingerprint, genesis_key, public_key, role, status, created_at, banned_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id.Fingerprint, id.GenesisKey, id.PublicKey, id.Role, id.Status,
			unixNano(id.CreatedAt), unixNano(id.BannedAt))
		return err
	}))
}

// GetIdentity returns the identity. CodeNotFound if unknown.
func (db *DB) GetIdentity(ctx context.Context, fingerprint string) (chusme.Identity, error) {
	id, _, err := db.getIdentity(ctx, fingerprint, false)
	return id, err
}

// GetLoginIdentity returns the identity and its TOTP credential (the zero
// value if none) in one read. CodeNotFound if the identity is unknown.
func (db *DB) GetLoginIdentity(ctx context.Context, fingerprint string) (chusme.Identity, chusme.TOTPCredential, error) {
	return db.getIdentity(ctx, fingerprint, true)
}

// getIdentity reads an identity, joined with its TOTP credential if withTOTP.
func (db *DB) getIdentity(ctx context.Context, fingerprint string, withTOTP bool) (chusme.Identity, chusme.TOTPCredential, error) {
	var id chusme.Identity
	var c chusme.TOTPCredential
	var created, banned, last, totpCreated, confirmed sql.NullInt64
	dest := []any{&id.Fingerprint, &id.GenesisKey, &id.PublicKey, &id.Role, &id.Status, &created, &banned}
	query := `SELECT fingerprint, genesis_key, public_key, role, status, created_at, banned_at
		FROM identities WHERE fingerprint = ?`
	if withTOTP {
		dest = append(dest, &c.SecretSealed, &last, &totpCreated, &confirmed)
		query = `SELECT i.fingerprint, i.genesis_key, i.public_key, i.role, i.status, i.created_at, i.banned_at,
			t.secret_sealed, t.last_step, t.created_at, t.confirmed_at
			FROM identities i LEFT JOIN totp_credentials t ON t.fingerprint = i.fingerprint WHERE i.fingerprint = ?`
	}
	err := db.read.QueryRowContext(ctx, query, fingerprint).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return chusme.Identity{}, chusme.TOTPCredential{}, notFound("identity")
	}
	if err != nil {
		return chusme.Identity{}, chusme.TOTPCredential{}, wrap("get identity", err)
	}
	id.CreatedAt, id.BannedAt = fromNano(created), fromNano(banned)
	if totpCreated.Valid {
		c.Fingerprint, c.LastStep = id.Fingerprint, last.Int64
		c.CreatedAt, c.ConfirmedAt = fromNano(totpCreated), fromNano(confirmed)
	}
	return id, c, nil
}

// CountIdentities returns how many identities exist.
func (db *DB) CountIdentities(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM identities`).Scan(&n)
	return n, wrap("count identities", err)
}

// BanIdentity marks the identity banned and revokes all its live sessions
// with reason "ban", in one transaction. An identity banned already keeps its
// first ban time. CodeNotFound if unknown.
func (db *DB) BanIdentity(ctx context.Context, fingerprint string, at time.Time) error {
	return wrap("ban identity", db.tx(ctx, func(tx stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE identities SET status = ?, banned_at = coalesce(banned_at, ?)
			WHERE fingerprint = ?`, chusme.StatusBanned, unixNano(at), fingerprint)
		if err != nil {
			return err
		}
		if err := oneRow(res, "identity"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, reason = 'ban'
			WHERE fingerprint = ? AND revoked_at IS NULL`, unixNano(at), fingerprint)
		return err
	}))
}

// CreateInvite stores an invite. CodeConflict if the hash exists.
func (db *DB) CreateInvite(ctx context.Context, inv chusme.Invite) error {
	return wrap("create invite", db.tx(ctx, func(tx stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invites (hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			inv.Hash, inv.CreatedBy, unixNano(inv.CreatedAt), unixNano(inv.ExpiresAt))
		return err
	}))
}

// UseChallenge records a login challenge as answered without a session.
// CodeConflict if it was answered before.
func (db *DB) UseChallenge(ctx context.Context, c chusme.UsedChallenge) error {
	return wrap("use challenge", db.tx(ctx, func(tx stmtTx) error {
		return useChallenge(ctx, tx, c)
	}))
}

// useChallenge inserts c's record; the primary key makes a second answer
// a uniqueness violation.
func useChallenge(ctx context.Context, tx stmtTx, c chusme.UsedChallenge) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO used_challenges (expires_at, nonce) VALUES (?, ?)`, unixNano(c.ExpiresAt), c.Nonce)
	return err
}

// CreateSession records ns.Challenge (if any) as answered and stores the
// session and its first refresh token, in one transaction. CodeConflict if
// the challenge was answered before (nothing is written then).
func (db *DB) CreateSession(ctx context.Context, ns chusme.NewSession) error {
	return wrap("create session", db.tx(ctx, func(tx stmtTx) error {
		if ns.Challenge != nil {
			if err := useChallenge(ctx, tx, *ns.Challenge); err != nil {
				return err
			}
		}
		s := ns.Session
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(id, fingerprint, created_at, last_used_at, expires_at, revoked_at, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.Fingerprint, unixNano(s.CreatedAt), unixNano(s.LastUsedAt), unixNano(s.ExpiresAt),
			unixNano(s.RevokedAt), s.Reason); err != nil {
			return err
		}
		return insertToken(ctx, tx, ns.Token)
	}))
}

// GetSession returns a session. CodeNotFound if unknown.
func (db *DB) GetSession(ctx context.Context, id string) (chusme.Session, error) {
	s, err := getSession(ctx, db.read, id)
	return s, wrap("get session", err)
}

// RevokeSession marks a live session revoked; a revoked one stays as it was.
// CodeNotFound if unknown.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time, reason string) error {
	return wrap("revoke session", db.tx(ctx, func(tx stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, reason = ?
			WHERE id = ? AND revoked_at IS NULL`, unixNano(at), reason, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return notFound("session")
		}
		return nil
	}))
}

// ExchangeRefreshToken runs decide in one write transaction on the state of
// the token whose hash is given, writes the update decide returned and
// commits, also when decide returns an error (unless the update is empty),
// and returns decide's error. CodeNotFound if no token has that hash (decide
// is not called).
//
// decide runs while the one writer connection is held: it must not call back
// into the store, or it waits forever.
func (db *DB) ExchangeRefreshToken(ctx context.Context, hash []byte, decide func(chusme.RefreshState) (chusme.RefreshUpdate, error)) error {
	var decided error // decide's error, returned after the update commits
	refused := false  // decide returned an error and nothing to write
	err := db.tx(ctx, func(tx stmtTx) error {
		var st chusme.RefreshState
		var err error
		if st.Presented, err = getToken(ctx, tx, `WHERE hash = ?`, hash); err != nil {
			return err
		}
		if st.Session, err = getSession(ctx, tx, st.Presented.SessionID); err != nil {
			return err
		}
		if st.Latest, err = getToken(ctx, tx, `WHERE session_id = ? ORDER BY seq DESC LIMIT 1`, st.Session.ID); err != nil {
			return err
		}
		u, err := decide(st)
		if err != nil && u.Session == nil && len(u.Tokens) == 0 && u.New == nil {
			refused = true
			return err // roll back: nothing to write
		}
		decided = err
		return applyRefresh(ctx, tx, u)
	})
	switch {
	case refused:
		return err
	case err != nil:
		return wrap("exchange refresh token", err)
	}
	return decided
}

// applyRefresh writes u in tx.
func applyRefresh(ctx context.Context, tx stmtTx, u chusme.RefreshUpdate) error {
	if s := u.Session; s != nil {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_used_at = ?, expires_at = ?, revoked_at = ?, reason = ?
			WHERE id = ?`, unixNano(s.LastUsedAt), unixNano(s.ExpiresAt), unixNano(s.RevokedAt), s.Reason, s.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errors.New("update of an unknown session"))
		}
	}
	for _, t := range u.Tokens {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ?, grace_used = ? WHERE hash = ?`,
			unixNano(t.UsedAt), t.GraceUsed, t.Hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errors.New("update of an unknown refresh token"))
		}
	}
	if u.New != nil {
		return insertToken(ctx, tx, *u.New)
	}
	return nil
}

// PurgeExpired deletes used challenges and invites that expired before now, and
// sessions (with their tokens) that ended before now.
func (db *DB) PurgeExpired(ctx context.Context, now time.Time) error {
	return wrap("purge expired", db.tx(ctx, func(tx stmtTx) error {
		n := now.UnixNano()
		for _, q := range []string{
			`DELETE FROM used_challenges WHERE expires_at < ?`,
			`DELETE FROM invites WHERE expires_at < ?`,
			`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE expires_at < ?)`,
			`DELETE FROM sessions WHERE expires_at < ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, n); err != nil {
				return err
			}
		}
		return nil
	}))
}

// querier is what reads need: the reader pool or a write transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getSession reads session id. CodeNotFound if unknown.
func getSession(ctx context.Context, q querier, id string) (chusme.Session, error) {
	var s chusme.Session
	var created, lastUsed, expires, revoked sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, fingerprint, created_at, last_used_at, expires_at, revoked_at, reason
		FROM sessions WHERE id = ?`, id).
		Scan(&s.ID, &s.Fingerprint, &created, &lastUsed, &expires, &revoked, &s.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return chusme.Session{}, notFound("session")
	}
	if err != nil {
		return chusme.Session{}, err
	}
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.RevokedAt = fromNano(created), fromNano(lastUsed), fromNano(expires), fromNano(revoked)
	return s, nil
}

// getToken reads the first refresh token matching where. CodeNotFound if
// none does.
func getToken(ctx context.Context, q querier, where string, args ...any) (chusme.RefreshToken, error) {
	var t chusme.RefreshToken
	var created, used sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT hash, session_id, seq, created_at, used_at, grace_used
		FROM refresh_tokens `+where, args...).
		Scan(&t.Hash, &t.SessionID, &t.Seq, &created, &used, &t.GraceUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return chusme.RefreshToken{}, notFound("refresh token")
	}
	if err != nil {
		return chusme.RefreshToken{}, err
	}
	t.CreatedAt, t.UsedAt = fromNano(created), fromNano(used)
	return t, nil
}

// insertToken inserts refresh token t.
func insertToken(ctx context.Context, tx stmtTx, t chusme.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, seq, created_at, used_at, grace_used)
		VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.SessionID, t.Seq, unixNano(t.CreatedAt), unixNano(t.UsedAt), t.GraceUsed)
	return err
}

// oneRow returns CodeNotFound about what unless res affected exactly one row.
func oneRow(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return notFound(what)
	}
	return nil
}
