package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chusme/chusme"
)

var (
	qAnyIdentity   = newQuery(`SELECT EXISTS (SELECT 1 FROM identities)`)
	qPutSetupToken = newQuery(`INSERT INTO setup_tokens (id, hash, created_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`)
	qSetupPending = newQuery(`SELECT EXISTS (SELECT 1 FROM setup_tokens)`)
	// A conditional UPDATE: a concurrent redeemer waits for the row lock,
	// then sees used_at set and matches nothing.
	qRedeemInvite = newQuery(`UPDATE invites SET used_at = ?, used_by = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ?`)
	qRedeemSetup = newQuery(`DELETE FROM setup_tokens
		WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM identities)`)
	qInsertIdentity = newQuery(`INSERT INTO identities (` + identityColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetIdentity    = newQuery(`SELECT ` + identityColumns + ` FROM identities WHERE fingerprint = ?`)
	qLockIdentity   = newQuery(`SELECT ` + identityColumns + ` FROM identities WHERE fingerprint = ?{lock}`)
	qLoginIdentity  = newQuery(`SELECT i.fingerprint, i.genesis_key, i.public_key, i.role, i.status, i.created_at, i.banned_at, i.device_keys,
			t.secret_sealed, t.last_step, t.created_at, t.confirmed_at
		FROM identities i LEFT JOIN totp_credentials t ON t.fingerprint = i.fingerprint WHERE i.fingerprint = ?`)
	qCountIdentities = newQuery(`SELECT count(*) FROM identities`)
	qBanIdentity     = newQuery(`UPDATE identities SET status = ?, banned_at = coalesce(banned_at, ?)
		WHERE fingerprint = ?`)
	qUnbanIdentity  = newQuery(`UPDATE identities SET status = ?, banned_at = NULL WHERE fingerprint = ?`)
	qListIdentities = newQuery(`SELECT ` + identityColumns + ` FROM identities WHERE fingerprint > ? ORDER BY fingerprint LIMIT ?`)
	qListByStatus   = newQuery(`SELECT ` + identityColumns + ` FROM identities WHERE status = ? AND fingerprint > ?
		ORDER BY fingerprint LIMIT ?`)
	qLiveSessions = newQuery(`SELECT ` + sessionColumns + ` FROM sessions
		WHERE fingerprint = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id`)
	qRevokeIdentitySessions = newQuery(`UPDATE sessions SET revoked_at = ?, reason = ?
		WHERE fingerprint = ? AND revoked_at IS NULL RETURNING id`)
	qInsertInvite  = newQuery(`INSERT INTO invites (id, hash, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`)
	qUseChallenge  = newQuery(`INSERT INTO used_challenges (expires_at, nonce) VALUES (?, ?)`)
	qInsertSession = newQuery(`INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qGetSession    = newQuery(`SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`)
	qLockSession   = newQuery(`SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?{lock}`)
	qRevokeSession = newQuery(`UPDATE sessions SET revoked_at = ?, reason = ? WHERE id = ? AND revoked_at IS NULL`)
	qSessionExists = newQuery(`SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`)
	qUpdateSession = newQuery(`UPDATE sessions SET last_used_at = ?, expires_at = ?, revoked_at = ?, reason = ?,
		refresh_seq = ?, refresh_issued_at = ?, grace_used = ? WHERE id = ?`)
	// Purges: each deletes at most ? rows (a batch) that ended before ?.
	qPurgeChallenges = newQuery(`DELETE FROM used_challenges WHERE (expires_at, nonce) IN
		(SELECT expires_at, nonce FROM used_challenges WHERE expires_at < ? LIMIT ?)`)
	qPurgeInvites        = newQuery(`DELETE FROM invites WHERE hash IN (SELECT hash FROM invites WHERE expires_at < ? LIMIT ?)`)
	qPurgeExpiredSession = newQuery(`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < ? LIMIT ?)`)
	qPurgeIdleSessions   = newQuery(`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE last_used_at < ? LIMIT ?)`)
	qPurgeRevokedSession = newQuery(`DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at < ? LIMIT ?)`)
	// Members and submissions go with their ceremony (ON DELETE CASCADE).
	qPurgeCeremonies = newQuery(`DELETE FROM ceremonies WHERE id IN (SELECT id FROM ceremonies
		WHERE status <> 'open' AND updated_at < ? AND (request_deadline IS NULL OR request_deadline < ?) LIMIT ?)`)
)

const (
	identityColumns = `fingerprint, genesis_key, public_key, role, status, created_at, banned_at, device_keys`
	sessionColumns  = `id, fingerprint, created_at, last_used_at, expires_at, revoked_at, reason,
		refresh_seq, refresh_issued_at, grace_used, device_key`
)

// lockIdentities runs the dialect's LockIdentities, if any, in c.
func (s *Store) lockIdentities(ctx context.Context, c Conn) error {
	if s.d.LockIdentities == "" {
		return nil
	}
	_, err := c.Exec(ctx, s.d.LockIdentities)
	return err
}

// PutSetupToken records the hash of a new setup token, replacing any pending
// one. CodeConflict if an identity exists already.
func (s *Store) PutSetupToken(ctx context.Context, hash []byte, createdAt time.Time) error {
	return s.wrap("put setup token", s.e.Write(ctx, func(c Conn) error {
		if err := s.lockIdentities(ctx, c); err != nil {
			return err
		}
		var exists bool
		if err := c.QueryRow(ctx, s.sql[qAnyIdentity]).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return chusme.Errorf(chusme.CodeConflict, "an identity exists already")
		}
		_, err := c.Exec(ctx, s.sql[qPutSetupToken], hash, unixNano(createdAt))
		return err
	}))
}

// SetupPending reports whether a setup token waits to be redeemed.
func (s *Store) SetupPending(ctx context.Context) (bool, error) {
	var pending bool
	err := s.e.Read().QueryRow(ctx, s.sql[qSetupPending]).Scan(&pending)
	return pending, s.wrap("setup pending", err)
}

// CreateIdentity registers id, redeeming adm in the same transaction.
// CodeConflict if the fingerprint exists; CodeNotFound if the invite or setup
// token is unknown, used, or (invite) expired, or if a setup token is
// redeemed while an identity exists.
func (s *Store) CreateIdentity(ctx context.Context, id chusme.Identity, adm chusme.Admission) error {
	return s.wrap("create identity", s.e.Write(ctx, func(c Conn) error {
		var n int64
		var err error
		switch adm.Kind {
		case chusme.AdmitOpen:
		case chusme.AdmitInvite:
			if adm.Now.IsZero() {
				return errors.New("invite admission without a time")
			}
			n, err = c.Exec(ctx, s.sql[qRedeemInvite], adm.Now.UnixNano(), id.Fingerprint, adm.TokenHash, adm.Now.UnixNano())
		case chusme.AdmitSetup:
			if err := s.lockIdentities(ctx, c); err != nil {
				return err
			}
			n, err = c.Exec(ctx, s.sql[qRedeemSetup], adm.TokenHash)
		default:
			return fmt.Errorf("unknown admission kind %q", adm.Kind)
		}
		if adm.Kind != chusme.AdmitOpen {
			if err := oneRow(n, err, adm.Kind+" token"); err != nil {
				return err
			}
		}
		_, err = c.Exec(ctx, s.sql[qInsertIdentity],
			id.Fingerprint, id.GenesisKey, id.PublicKey, id.Role, id.Status,
			unixNano(id.CreatedAt), unixNano(id.BannedAt), "[]")
		return err
	}))
}

// scanIdentity scans identityColumns.
func scanIdentity(r Row) (chusme.Identity, error) {
	var id chusme.Identity
	var created, banned sql.NullInt64
	var devices string
	if err := r.Scan(&id.Fingerprint, &id.GenesisKey, &id.PublicKey, &id.Role, &id.Status, &created, &banned, &devices); err != nil {
		return id, err
	}
	id.CreatedAt, id.BannedAt = fromNano(created), fromNano(banned)
	var err error
	id.DeviceKeys, err = keyList(devices)
	return id, err
}

// GetIdentity returns the identity. CodeNotFound if unknown.
func (s *Store) GetIdentity(ctx context.Context, fingerprint string) (chusme.Identity, error) {
	return read(ctx, s, "get identity", qGetIdentity, fingerprint, "identity", scanIdentity)
}

// GetLoginIdentity returns the identity and its TOTP credential (the zero
// value if none) in one read. CodeNotFound if the identity is unknown.
func (s *Store) GetLoginIdentity(ctx context.Context, fingerprint string) (chusme.Identity, chusme.TOTPCredential, error) {
	var id chusme.Identity
	var c chusme.TOTPCredential
	var created, banned, last, totpCreated, confirmed sql.NullInt64
	var devices string
	err := s.e.Read().QueryRow(ctx, s.sql[qLoginIdentity], fingerprint).
		Scan(&id.Fingerprint, &id.GenesisKey, &id.PublicKey, &id.Role, &id.Status, &created, &banned, &devices,
			&c.SecretSealed, &last, &totpCreated, &confirmed)
	if noRows(err) {
		return chusme.Identity{}, chusme.TOTPCredential{}, notFound("identity")
	}
	if err != nil {
		return chusme.Identity{}, chusme.TOTPCredential{}, s.wrap("get login identity", err)
	}
	id.CreatedAt, id.BannedAt = fromNano(created), fromNano(banned)
	if id.DeviceKeys, err = keyList(devices); err != nil {
		return chusme.Identity{}, chusme.TOTPCredential{}, s.wrap("get login identity", err)
	}
	if totpCreated.Valid {
		c.Fingerprint, c.LastStep = id.Fingerprint, last.Int64
		c.CreatedAt, c.ConfirmedAt = fromNano(totpCreated), fromNano(confirmed)
	}
	return id, c, nil
}

// CountIdentities returns how many identities exist.
func (s *Store) CountIdentities(ctx context.Context) (int, error) {
	return s.count(ctx, "count identities", qCountIdentities)
}

// count runs a query of one count.
func (s *Store) count(ctx context.Context, op string, q query, args ...any) (int, error) {
	var n int
	err := s.e.Read().QueryRow(ctx, s.sql[q], args...).Scan(&n)
	return n, s.wrap(op, err)
}

// BanIdentity marks the identity banned and, unless revoke is empty,
// revokes all its live sessions with reason revoke, in one transaction; it
// returns the ids of the sessions it revoked. An identity banned already
// keeps its first ban time. CodeNotFound if unknown.
func (s *Store) BanIdentity(ctx context.Context, fingerprint string, at time.Time, revoke chusme.RevocationReason) ([]string, error) {
	var revoked []string
	err := s.e.Write(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, s.sql[qBanIdentity], chusme.StatusBanned, unixNano(at), fingerprint)
		if err := oneRow(n, err, "identity"); err != nil {
			return err
		}
		revoked, err = s.revokeIdentitySessions(ctx, c, fingerprint, at, revoke)
		return err
	})
	return revoked, s.wrap("ban identity", err)
}

// revokeIdentitySessions revokes the live sessions of an identity at at with
// reason (none if reason is empty) and returns their ids.
func (s *Store) revokeIdentitySessions(ctx context.Context, c Conn, fingerprint string, at time.Time, reason chusme.RevocationReason) ([]string, error) {
	if reason == "" {
		return nil, nil
	}
	rows, err := c.Query(ctx, s.sql[qRevokeIdentitySessions], unixNano(at), string(reason), fingerprint)
	return collect(rows, err, scanID)
}

// UnbanIdentity marks the identity active again. CodeNotFound if unknown.
func (s *Store) UnbanIdentity(ctx context.Context, fingerprint string) error {
	return s.wrap("unban identity", s.e.WriteOne(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, s.sql[qUnbanIdentity], chusme.StatusActive, fingerprint)
		return oneRow(n, err, "identity")
	}))
}

// ListIdentities returns at most limit identities by fingerprint after
// after, of status status ("" for any).
func (s *Store) ListIdentities(ctx context.Context, status, after string, limit int) ([]chusme.Identity, error) {
	var rows Rows
	var err error
	if status == "" {
		rows, err = s.e.Read().Query(ctx, s.sql[qListIdentities], after, limit)
	} else {
		rows, err = s.e.Read().Query(ctx, s.sql[qListByStatus], status, after, limit)
	}
	ids, err := collect(rows, err, scanIdentity)
	return ids, s.wrap("list identities", err)
}

// LiveSessions returns the identity's sessions neither revoked nor expired
// at now, newest first.
func (s *Store) LiveSessions(ctx context.Context, fingerprint string, now time.Time) ([]chusme.Session, error) {
	rows, err := s.e.Read().Query(ctx, s.sql[qLiveSessions], fingerprint, unixNano(now))
	ss, err := collect(rows, err, scanSession)
	return ss, s.wrap("live sessions", err)
}

// scanID scans a row of one id.
func scanID(r Row) (id string, err error) { return id, r.Scan(&id) }

// CreateInvite stores an invite. CodeConflict if the hash exists.
func (s *Store) CreateInvite(ctx context.Context, inv chusme.Invite) error {
	return s.wrap("create invite", s.e.WriteOne(ctx, func(c Conn) error {
		_, err := c.Exec(ctx, s.sql[qInsertInvite], inv.ID, inv.Hash, inv.CreatedBy, unixNano(inv.CreatedAt), unixNano(inv.ExpiresAt))
		return err
	}))
}

// UseChallenge records a login challenge as answered without a session.
// CodeConflict if it was answered before.
func (s *Store) UseChallenge(ctx context.Context, uc chusme.UsedChallenge) error {
	return s.wrap("use challenge", s.e.WriteOne(ctx, func(c Conn) error {
		return s.useChallenge(ctx, c, uc)
	}))
}

// useChallenge inserts uc's record; the primary key makes a second answer a
// uniqueness violation (in PostgreSQL a concurrent second insert waits for
// the first to commit, then fails).
func (s *Store) useChallenge(ctx context.Context, c Conn, uc chusme.UsedChallenge) error {
	_, err := c.Exec(ctx, s.sql[qUseChallenge], unixNano(uc.ExpiresAt), uc.Nonce)
	return err
}

// CreateSession records ns.Challenge (if any) as answered and stores the
// session, in one transaction. CodeConflict if
// the challenge was answered before (nothing is written then).
func (s *Store) CreateSession(ctx context.Context, ns chusme.NewSession) error {
	return s.wrap("create session", s.e.Write(ctx, func(c Conn) error {
		if ns.Challenge != nil {
			if err := s.useChallenge(ctx, c, *ns.Challenge); err != nil {
				return err
			}
		}
		ss := ns.Session
		_, err := c.Exec(ctx, s.sql[qInsertSession],
			ss.ID, ss.Fingerprint, unixNano(ss.CreatedAt), unixNano(ss.LastUsedAt), unixNano(ss.ExpiresAt),
			unixNano(ss.RevokedAt), string(ss.Reason), ss.Refresh.Seq, unixNano(ss.Refresh.IssuedAt), ss.Refresh.GraceUsed, ss.DeviceKey)
		return err
	}))
}

// GetSession returns a session. CodeNotFound if unknown.
func (s *Store) GetSession(ctx context.Context, id string) (chusme.Session, error) {
	return read(ctx, s, "get session", qGetSession, id, "session", scanSession)
}

// RevokeSession marks a live session revoked; a revoked one stays as it was.
// CodeNotFound if unknown.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time, reason chusme.RevocationReason) error {
	return s.wrap("revoke session", s.e.Write(ctx, func(c Conn) error {
		return s.conditional(ctx, c, qRevokeSession, []any{unixNano(at), string(reason), id}, qSessionExists, id, "session", nil)
	}))
}

// conditional runs the conditional write q with args. If it affects no
// row, it asks exists (with key) whether the row is there: CodeNotFound
// about what if not, else unmet (nil when that is no error).
func (s *Store) conditional(ctx context.Context, c Conn, q query, args []any, exists query, key, what string, unmet error) error {
	n, err := c.Exec(ctx, s.sql[q], args...)
	if err != nil || n == 1 {
		return err
	}
	var ok bool
	if err := c.QueryRow(ctx, s.sql[exists], key).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return notFound(what)
	}
	return unmet
}

// ExchangeRefreshToken runs decide in one write transaction on the session
// with the given id, writes the session decide returned (unless nil) and
// commits, also when decide returns an error, and returns decide's error.
// CodeNotFound if the session is unknown (decide is not called).
//
// Where the dialect locks rows, the transaction holds the session's row from
// its read until it commits, so exchanges on one session are serialized
// across every node and each sees the one before it. decide runs inside the
// transaction (in SQLite, while the one writer connection is held): it must
// not call back into the store.
func (s *Store) ExchangeRefreshToken(ctx context.Context, sessionID string, decide func(chusme.Session) (*chusme.Session, error)) error {
	var decided error // decide's error, returned after the update commits
	refused := false  // decide returned an error and nothing to write
	err := s.e.Write(ctx, func(c Conn) error {
		sess, err := one(c.QueryRow(ctx, s.sql[qLockSession], sessionID), "session", scanSession)
		if err != nil {
			return err
		}
		u, err := decide(sess)
		if err != nil && u == nil {
			refused = true
			return err // roll back: nothing to write
		}
		decided = err
		if u == nil {
			return nil
		}
		n, err := c.Exec(ctx, s.sql[qUpdateSession],
			unixNano(u.LastUsedAt), unixNano(u.ExpiresAt), unixNano(u.RevokedAt), string(u.Reason),
			u.Refresh.Seq, unixNano(u.Refresh.IssuedAt), u.Refresh.GraceUsed, u.ID)
		if err != nil {
			return err
		}
		if n != 1 {
			return errors.New("update of an unknown session")
		}
		return nil
	})
	switch {
	case refused:
		return err
	case err != nil:
		return s.wrap("exchange refresh token", err)
	}
	return decided
}

// PurgeBatch is how many records one statement of PurgeExpired deletes.
const PurgeBatch = 1000

// PurgeExpired deletes what p says, PurgeBatch records a transaction, and
// returns how many it deleted.
func (s *Store) PurgeExpired(ctx context.Context, p chusme.Purge) (int64, error) {
	now := cutoff(p.Now)
	var total int64
	for _, st := range []struct {
		q    query
		args []any
	}{
		{qPurgeChallenges, []any{now}},
		{qPurgeInvites, []any{now}},
		{qPurgeExpiredSession, []any{now}},
		{qPurgeIdleSessions, []any{cutoff(p.IdleBefore)}},
		{qPurgeRevokedSession, []any{cutoff(p.RevokedBefore)}},
		{qPurgeCeremonies, []any{cutoff(p.CeremoniesBefore), p.Now.Unix()}},
	} {
		args := append(st.args, PurgeBatch)
		for {
			var n int64
			err := s.e.WriteOne(ctx, func(c Conn) error {
				var err error
				n, err = c.Exec(ctx, s.sql[st.q], args...)
				return err
			})
			if err != nil {
				return total, s.wrap("purge expired", err)
			}
			total += n
			if n < PurgeBatch {
				break
			}
		}
	}
	return total, nil
}

// cutoff is a purge's time bound as stored: Unix nanoseconds, 0 (before
// every record) for the zero time.
func cutoff(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// scanSession scans sessionColumns.
func scanSession(r Row) (chusme.Session, error) {
	var ss chusme.Session
	var created, lastUsed, expires, revoked, issued sql.NullInt64
	var reason string // scanned as a string: a named string type would take the drivers' reflection
	err := r.Scan(&ss.ID, &ss.Fingerprint, &created, &lastUsed, &expires, &revoked, &reason,
		&ss.Refresh.Seq, &issued, &ss.Refresh.GraceUsed, &ss.DeviceKey)
	ss.CreatedAt, ss.LastUsedAt, ss.ExpiresAt, ss.RevokedAt = fromNano(created), fromNano(lastUsed), fromNano(expires), fromNano(revoked)
	ss.Refresh.IssuedAt = fromNano(issued)
	ss.Reason = chusme.RevocationReason(reason)
	return ss, err
}
