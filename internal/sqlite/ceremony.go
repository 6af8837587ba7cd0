package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chusme/chusme"
)

const ceremonyColumns = `id, kind, creator, status, round, threshold, participants, key_id, message,
	submitted, deadline, version, created_at, updated_at, round_started_at, transcript, signing_package,
	failure_reason, failure_message, culprits, result_key_id, signature`

// queryer is what both *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanCeremony(r rowScanner) (chusme.Ceremony, error) {
	var c chusme.Ceremony
	var parts, submitted, culprits string
	var deadline, created, updated, started sql.NullInt64
	err := r.Scan(&c.ID, &c.Kind, &c.Creator, &c.Status, &c.Round, &c.Threshold, &parts, &c.KeyID, &c.Message,
		&submitted, &deadline, &c.Version, &created, &updated, &started, &c.Transcript, &c.SigningPackage,
		&c.FailureReason, &c.FailureMessage, &culprits, &c.ResultKeyID, &c.Signature)
	if err != nil {
		return c, err
	}
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&c.Participants, parts}, {&c.Submitted, submitted}, {&c.Culprits, culprits}} {
		if err := json.Unmarshal([]byte(l.src), l.dst); err != nil {
			return c, fmt.Errorf("decoding a fingerprint list: %w", err)
		}
	}
	c.Deadline, c.CreatedAt, c.UpdatedAt, c.RoundStarted = fromNano(deadline), fromNano(created), fromNano(updated), fromNano(started)
	return c, nil
}

func getCeremony(ctx context.Context, q queryer, id string) (chusme.Ceremony, error) {
	c, err := scanCeremony(q.QueryRowContext(ctx, `SELECT `+ceremonyColumns+` FROM ceremonies WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("ceremony")
	}
	return c, err
}

// CreateCeremony stores a new ceremony with its members (participants and
// creator). CodeConflict if the id exists.
func (db *DB) CreateCeremony(ctx context.Context, c chusme.Ceremony) error {
	return wrap("create ceremony", db.tx(ctx, func(tx stmtTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ceremonies (`+ceremonyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Kind, c.Creator, c.Status, c.Round, c.Threshold, jsonList(c.Participants), c.KeyID, c.Message,
			jsonList(c.Submitted), unixNano(c.Deadline), c.Version, unixNano(c.CreatedAt), unixNano(c.UpdatedAt),
			unixNano(c.RoundStarted), c.Transcript, c.SigningPackage, c.FailureReason, c.FailureMessage,
			jsonList(c.Culprits), c.ResultKeyID, c.Signature)
		if err != nil {
			return err
		}
		members := append([]string{c.Creator}, c.Participants...)
		for _, fp := range members {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO ceremony_members (fingerprint, ceremony_id, created_at)
				VALUES (?, ?, ?)`, fp, c.ID, unixNano(c.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	}))
}

// GetCeremony returns a ceremony. CodeNotFound if unknown.
func (db *DB) GetCeremony(ctx context.Context, id string) (chusme.Ceremony, error) {
	c, err := getCeremony(ctx, db.read, id)
	return c, wrap("get ceremony", err)
}

// ListCeremonies returns the ceremonies f selects, newest first.
func (db *DB) ListCeremonies(ctx context.Context, f chusme.CeremonyFilter) ([]chusme.Ceremony, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + prefixed("c.", ceremonyColumns) + ` FROM ceremonies c`
	var args []any
	var where []string
	if f.Member != "" {
		q += ` JOIN ceremony_members m ON m.ceremony_id = c.id`
		where = append(where, `m.fingerprint = ?`)
		args = append(args, f.Member)
	}
	if f.Status != "" {
		where = append(where, `c.status = ?`)
		args = append(args, f.Status)
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY c.created_at DESC, c.id LIMIT ?`
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list ceremonies", err)
	}
	defer rows.Close()
	var out []chusme.Ceremony
	for rows.Next() {
		c, err := scanCeremony(rows)
		if err != nil {
			return nil, wrap("list ceremonies", err)
		}
		out = append(out, c)
	}
	return out, wrap("list ceremonies", rows.Err())
}

// prefixed qualifies every column of a column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func listSubmissions(ctx context.Context, q queryer, id string, round int) ([]chusme.CeremonySubmission, error) {
	rows, err := q.QueryContext(ctx, `SELECT ceremony_id, round, sender, recipient, payload, signature, created_at
		FROM ceremony_submissions WHERE ceremony_id = ? AND round = ? ORDER BY sender, recipient`, id, round)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chusme.CeremonySubmission
	for rows.Next() {
		var s chusme.CeremonySubmission
		var created sql.NullInt64
		if err := rows.Scan(&s.CeremonyID, &s.Round, &s.Sender, &s.Recipient, &s.Payload, &s.Signature, &created); err != nil {
			return nil, err
		}
		s.CreatedAt = fromNano(created)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ListSubmissions returns the submissions of a ceremony's round, ordered by
// sender then recipient.
func (db *DB) ListSubmissions(ctx context.Context, id string, round int) ([]chusme.CeremonySubmission, error) {
	s, err := listSubmissions(ctx, db.read, id, round)
	return s, wrap("list submissions", err)
}

// UpdateCeremony runs fn in one write transaction on the ceremony and its
// current round's submissions, then writes what fn decided (see
// chusme.CeremonyStore).
func (db *DB) UpdateCeremony(ctx context.Context, id string, fn func(st *chusme.CeremonyState) error) (chusme.Ceremony, error) {
	var out chusme.Ceremony
	err := db.tx(ctx, func(tx stmtTx) error {
		c, err := getCeremony(ctx, tx, id)
		if err != nil {
			return err
		}
		subs, err := listSubmissions(ctx, tx, id, c.Round)
		if err != nil {
			return err
		}
		st := &chusme.CeremonyState{Ceremony: c, Submissions: subs}
		st.Ceremony.Participants = append([]string(nil), c.Participants...)
		st.Ceremony.Submitted = append([]string(nil), c.Submitted...)
		if err := fn(st); err != nil {
			if errors.Is(err, chusme.ErrUnchanged) {
				out = c
				return errUnchanged
			}
			return err
		}
		n := st.Ceremony
		n.ID, n.Version = c.ID, c.Version+1
		_, err = tx.ExecContext(ctx, `UPDATE ceremonies SET status = ?, round = ?, submitted = ?, deadline = ?,
			version = ?, updated_at = ?, round_started_at = ?, transcript = ?, signing_package = ?,
			failure_reason = ?, failure_message = ?, culprits = ?, result_key_id = ?, signature = ?
			WHERE id = ?`,
			n.Status, n.Round, jsonList(n.Submitted), unixNano(n.Deadline), n.Version, unixNano(n.UpdatedAt),
			unixNano(n.RoundStarted), n.Transcript, n.SigningPackage, n.FailureReason, n.FailureMessage,
			jsonList(n.Culprits), n.ResultKeyID, n.Signature, c.ID)
		if err != nil {
			return err
		}
		for _, s := range st.Add {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ceremony_submissions
				(ceremony_id, round, sender, recipient, payload, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				c.ID, s.Round, s.Sender, s.Recipient, s.Payload, s.Signature, unixNano(s.CreatedAt)); err != nil {
				return err
			}
		}
		for _, d := range st.Commitments {
			if _, err := tx.ExecContext(ctx, `INSERT INTO used_commitments (key_id, digest, ceremony_id, created_at)
				VALUES (?, ?, ?, ?)`, c.KeyID, d, c.ID, unixNano(n.UpdatedAt)); err != nil {
				if isUnique(err) {
					return chusme.Errorf(chusme.CodeCommitmentReused, "a signing commitment was used before with this key")
				}
				return err
			}
		}
		if k := st.Key; k != nil {
			shares, err := json.Marshal(k.VerifyingShares)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_keys (id, public_key, threshold, participants,
				verifying_shares, public_key_package, ceremony_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				k.ID, k.PublicKey, k.Threshold, jsonList(k.Participants), string(shares), k.PublicKeyPackage,
				k.CeremonyID, unixNano(k.CreatedAt)); err != nil {
				return err
			}
		}
		out = n
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, wrap("update ceremony", err)
}

// errUnchanged rolls back the transaction of a callback that returned
// chusme.ErrUnchanged.
var errUnchanged = errors.New("unchanged")

func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

// DueCeremonies returns the ids of open ceremonies whose deadline is at or
// before now.
func (db *DB) DueCeremonies(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM ceremonies WHERE status = ? AND deadline <= ? ORDER BY deadline`,
		chusme.CeremonyOpen, now.UnixNano())
	if err != nil {
		return nil, wrap("due ceremonies", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("due ceremonies", err)
		}
		ids = append(ids, id)
	}
	return ids, wrap("due ceremonies", rows.Err())
}

// CountCeremonies returns how many ceremonies have the status.
func (db *DB) CountCeremonies(ctx context.Context, status string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM ceremonies WHERE status = ?`, status).Scan(&n)
	return n, wrap("count ceremonies", err)
}

// GetGroupKey returns a group key. CodeNotFound if unknown.
func (db *DB) GetGroupKey(ctx context.Context, id string) (chusme.GroupKey, error) {
	var k chusme.GroupKey
	var parts, shares string
	var created sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT id, public_key, threshold, participants, verifying_shares,
		public_key_package, ceremony_id, created_at FROM group_keys WHERE id = ?`, id).
		Scan(&k.ID, &k.PublicKey, &k.Threshold, &parts, &shares, &k.PublicKeyPackage, &k.CeremonyID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("group key")
	}
	if err != nil {
		return k, wrap("get group key", err)
	}
	if err := json.Unmarshal([]byte(parts), &k.Participants); err != nil {
		return k, wrap("get group key", err)
	}
	if err := json.Unmarshal([]byte(shares), &k.VerifyingShares); err != nil {
		return k, wrap("get group key", err)
	}
	k.CreatedAt = fromNano(created)
	return k, nil
}
