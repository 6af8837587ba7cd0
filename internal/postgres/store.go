package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chusme/chusme"
)

// lockIdentities keeps identities from being created until tx ends, and
// waits for registrations under way to end: what makes "no identity exists
// yet" a fact for the setup token's transactions on every node. Only the
// setup token's transactions take it; registrations don't wait on each
// other.
func lockIdentities(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `LOCK TABLE identities IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// PutSetupToken records the hash of a new setup token, replacing any pending
// one. CodeConflict if an identity exists already.
func (db *DB) PutSetupToken(ctx context.Context, hash []byte, createdAt time.Time) error {
	return wrap("put setup token", db.tx(ctx, func(tx pgx.Tx) error {
		if err := lockIdentities(ctx, tx); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identities)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return chusme.Errorf(chusme.CodeConflict, "an identity exists already")
		}
		_, err := tx.Exec(ctx, `INSERT INTO setup_tokens (id, hash, created_at) VALUES (1, $1, $2)
			ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`,
			hash, unixNano(createdAt))
		return err
	}))
}

// SetupPending reports whether a setup token waits to be redeemed.
func (db *DB) SetupPending(ctx context.Context) (bool, error) {
	var pending bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM setup_tokens)`).Scan(&pending)
	return pending, wrap("setup pending", err)
}

// CreateIdentity registers id, redeeming adm in the same transaction.
// CodeConflict if the fingerprint exists; CodeNotFound if the invite or setup
// token is unknown, used, or (invite) expired, or if a setup token is
// redeemed while an identity exists.
func (db *DB) CreateIdentity(ctx context.Context, id chusme.Identity, adm chusme.Admission) error {
	return wrap("create identity", db.tx(ctx, func(tx pgx.Tx) error {
		var tag pgconn.CommandTag
		var err error
		redeem := true
		switch adm.Kind {
		case chusme.AdmitOpen:
			redeem = false
		case chusme.AdmitInvite:
			if adm.Now.IsZero() {
				return errors.New("invite admission without a time")
			}
			// A conditional UPDATE: a concurrent redeemer waits for the
			// row lock, then sees used_at set and matches nothing.
			tag, err = tx.Exec(ctx, `UPDATE invites SET used_at = $1
				WHERE hash = $2 AND used_at IS NULL AND expires_at > $3`,
				adm.Now.UnixNano(), adm.TokenHash, adm.Now.UnixNano())
		case chusme.AdmitSetup:
			if err := lockIdentities(ctx, tx); err != nil {
				return err
			}
			tag, err = tx.Exec(ctx, `DELETE FROM setup_tokens
				WHERE hash = $1 AND NOT EXISTS (SELECT 1 FROM identities)`, adm.TokenHash)
		default:
			return fmt.Errorf("unknown admission kind %q", adm.Kind)
		}
		if err != nil {
			return err
		}
		if redeem {
			if err := oneRow(tag, adm.Kind+" token"); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO identities
			(fingerprint, genesis_key, public_key, role, status, created_at, banned_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id.Fingerprint, id.GenesisKey, id.PublicKey, id.Role, id.Status,
			unixNano(id.CreatedAt), unixNano(id.BannedAt))
		return err
	}))
}

const identityColumns = `fingerprint, genesis_key, public_key, role, status, created_at, banned_at`

func scanIdentity(r pgx.Row) (chusme.Identity, error) {
	var id chusme.Identity
	var created, banned pgtype.Int8
	err := r.Scan(&id.Fingerprint, &id.GenesisKey, &id.PublicKey, &id.Role, &id.Status, &created, &banned)
	id.CreatedAt, id.BannedAt = fromNano(created), fromNano(banned)
	return id, err
}

// GetIdentity returns the identity. CodeNotFound if unknown.
func (db *DB) GetIdentity(ctx context.Context, fingerprint string) (chusme.Identity, error) {
	id, err := scanIdentity(db.pool.QueryRow(ctx, `SELECT `+identityColumns+` FROM identities WHERE fingerprint = $1`, fingerprint))
	if errors.Is(err, pgx.ErrNoRows) {
		return chusme.Identity{}, notFound("identity")
	}
	if err != nil {
		return chusme.Identity{}, wrap("get identity", err)
	}
	return id, nil
}

// GetLoginIdentity returns the identity and its TOTP credential (the zero
// value if none) in one read. CodeNotFound if the identity is unknown.
func (db *DB) GetLoginIdentity(ctx context.Context, fingerprint string) (chusme.Identity, chusme.TOTPCredential, error) {
	var id chusme.Identity
	var c chusme.TOTPCredential
	var created, banned, last, totpCreated, confirmed pgtype.Int8
	err := db.pool.QueryRow(ctx, `SELECT i.fingerprint, i.genesis_key, i.public_key, i.role, i.status, i.created_at, i.banned_at,
			t.secret_sealed, t.last_step, t.created_at, t.confirmed_at
		FROM identities i LEFT JOIN totp_credentials t ON t.fingerprint = i.fingerprint WHERE i.fingerprint = $1`, fingerprint).
		Scan(&id.Fingerprint, &id.GenesisKey, &id.PublicKey, &id.Role, &id.Status, &created, &banned,
			&c.SecretSealed, &last, &totpCreated, &confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return chusme.Identity{}, chusme.TOTPCredential{}, notFound("identity")
	}
	if err != nil {
		return chusme.Identity{}, chusme.TOTPCredential{}, wrap("get login identity", err)
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
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM identities`).Scan(&n)
	return n, wrap("count identities", err)
}

// BanIdentity marks the identity banned and revokes all its live sessions
// with reason "ban", in one transaction. An identity banned already keeps its
// first ban time. CodeNotFound if unknown.
func (db *DB) BanIdentity(ctx context.Context, fingerprint string, at time.Time) error {
	return wrap("ban identity", db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE identities SET status = $1, banned_at = coalesce(banned_at, $2)
			WHERE fingerprint = $3`, chusme.StatusBanned, unixNano(at), fingerprint)
		if err != nil {
			return err
		}
		if err := oneRow(tag, "identity"); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, reason = 'ban'
			WHERE fingerprint = $2 AND revoked_at IS NULL`, unixNano(at), fingerprint)
		return err
	}))
}

// CreateInvite stores an invite. CodeConflict if the hash exists.
func (db *DB) CreateInvite(ctx context.Context, inv chusme.Invite) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO invites (hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		inv.Hash, inv.CreatedBy, unixNano(inv.CreatedAt), unixNano(inv.ExpiresAt))
	return wrap("create invite", err)
}

// UseChallenge records a login challenge as answered without a session.
// CodeConflict if it was answered before.
func (db *DB) UseChallenge(ctx context.Context, c chusme.UsedChallenge) error {
	return wrap("use challenge", useChallenge(ctx, db.pool, c))
}

// execer is what useChallenge needs: the pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// useChallenge inserts c's record; the primary key makes a second answer a
// uniqueness violation (a concurrent second insert waits for the first to
// commit, then fails).
func useChallenge(ctx context.Context, e execer, c chusme.UsedChallenge) error {
	_, err := e.Exec(ctx, `INSERT INTO used_challenges (expires_at, nonce) VALUES ($1, $2)`, unixNano(c.ExpiresAt), c.Nonce)
	return err
}

// CreateSession records ns.Challenge (if any) as answered and stores the
// session and its first refresh token, in one transaction. CodeConflict if
// the challenge was answered before (nothing is written then).
func (db *DB) CreateSession(ctx context.Context, ns chusme.NewSession) error {
	return wrap("create session", db.tx(ctx, func(tx pgx.Tx) error {
		if ns.Challenge != nil {
			if err := useChallenge(ctx, tx, *ns.Challenge); err != nil {
				return err
			}
		}
		s := ns.Session
		if _, err := tx.Exec(ctx, `INSERT INTO sessions
			(id, fingerprint, created_at, last_used_at, expires_at, revoked_at, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			s.ID, s.Fingerprint, unixNano(s.CreatedAt), unixNano(s.LastUsedAt), unixNano(s.ExpiresAt),
			unixNano(s.RevokedAt), s.Reason); err != nil {
			return err
		}
		return insertToken(ctx, tx, ns.Token)
	}))
}

// GetSession returns a session. CodeNotFound if unknown.
func (db *DB) GetSession(ctx context.Context, id string) (chusme.Session, error) {
	s, err := getSession(ctx, db.pool, id, "")
	return s, wrap("get session", err)
}

// RevokeSession marks a live session revoked; a revoked one stays as it was.
// CodeNotFound if unknown.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time, reason string) error {
	return wrap("revoke session", db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, reason = $2
			WHERE id = $3 AND revoked_at IS NULL`, unixNano(at), reason, id)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return notFound("session")
		}
		return nil
	}))
}

// ExchangeRefreshToken runs decide in one transaction on the state of the
// token whose hash is given, writes the update decide returned and commits,
// also when decide returns an error (unless the update is empty), and
// returns decide's error. CodeNotFound if no token has that hash (decide is
// not called).
//
// The transaction holds the session's row (SELECT … FOR UPDATE) from before
// it reads the tokens until it commits, so exchanges on one session are
// serialized across every node; the tokens are read after the lock is
// granted, so each exchange sees the one before it.
func (db *DB) ExchangeRefreshToken(ctx context.Context, hash []byte, decide func(chusme.RefreshState) (chusme.RefreshUpdate, error)) error {
	var decided error // decide's error, returned after the update commits
	refused := false  // decide returned an error and nothing to write
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var st chusme.RefreshState
		first, err := getToken(ctx, tx, `WHERE hash = $1`, hash)
		if err != nil {
			return err
		}
		if st.Session, err = getSession(ctx, tx, first.SessionID, " FOR UPDATE"); err != nil {
			return err
		}
		if st.Presented, err = getToken(ctx, tx, `WHERE hash = $1`, hash); err != nil {
			return err
		}
		if st.Latest, err = getToken(ctx, tx, `WHERE session_id = $1 ORDER BY seq DESC LIMIT 1`, st.Session.ID); err != nil {
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
func applyRefresh(ctx context.Context, tx pgx.Tx, u chusme.RefreshUpdate) error {
	if s := u.Session; s != nil {
		tag, err := tx.Exec(ctx, `UPDATE sessions SET last_used_at = $1, expires_at = $2, revoked_at = $3, reason = $4
			WHERE id = $5`, unixNano(s.LastUsedAt), unixNano(s.ExpiresAt), unixNano(s.RevokedAt), s.Reason, s.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errors.New("update of an unknown session")
		}
	}
	for _, t := range u.Tokens {
		tag, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $1, grace_used = $2 WHERE hash = $3`,
			unixNano(t.UsedAt), t.GraceUsed, t.Hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errors.New("update of an unknown refresh token")
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
	return wrap("purge expired", db.tx(ctx, func(tx pgx.Tx) error {
		n := now.UnixNano()
		// A session goes before its tokens (ON DELETE CASCADE), the order in
		// which ExchangeRefreshToken locks them: no deadlock with an exchange
		// of an expiring session.
		for _, q := range []string{
			`DELETE FROM used_challenges WHERE expires_at < $1`,
			`DELETE FROM invites WHERE expires_at < $1`,
			`DELETE FROM sessions WHERE expires_at < $1`,
		} {
			if _, err := tx.Exec(ctx, q, n); err != nil {
				return err
			}
		}
		return nil
	}))
}

// getSession reads session id, with lock appended to the query (""
// or " FOR UPDATE"). CodeNotFound if unknown.
func getSession(ctx context.Context, q querier, id, lock string) (chusme.Session, error) {
	var s chusme.Session
	var created, lastUsed, expires, revoked pgtype.Int8
	err := q.QueryRow(ctx, `SELECT id, fingerprint, created_at, last_used_at, expires_at, revoked_at, reason
		FROM sessions WHERE id = $1`+lock, id).
		Scan(&s.ID, &s.Fingerprint, &created, &lastUsed, &expires, &revoked, &s.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
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
	var created, used pgtype.Int8
	err := q.QueryRow(ctx, `SELECT hash, session_id, seq, created_at, used_at, grace_used
		FROM refresh_tokens `+where, args...).
		Scan(&t.Hash, &t.SessionID, &t.Seq, &created, &used, &t.GraceUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return chusme.RefreshToken{}, notFound("refresh token")
	}
	if err != nil {
		return chusme.RefreshToken{}, err
	}
	t.CreatedAt, t.UsedAt = fromNano(created), fromNano(used)
	return t, nil
}

// insertToken inserts refresh token t.
func insertToken(ctx context.Context, tx pgx.Tx, t chusme.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, seq, created_at, used_at, grace_used)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.SessionID, t.Seq, unixNano(t.CreatedAt), unixNano(t.UsedAt), t.GraceUsed)
	return err
}
