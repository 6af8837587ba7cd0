package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chusme/chusme"
)

// identityExists reports whether the identity is known, inside tx.
func identityExists(ctx context.Context, q querier, fp string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM identities WHERE fingerprint = ?)`, fp).Scan(&ok)
	return ok, err
}

// PutTOTP stores an unconfirmed credential, replacing an unconfirmed one.
// CodeConflict if a confirmed one exists; CodeNotFound if the identity is
// unknown.
func (db *DB) PutTOTP(ctx context.Context, c chusme.TOTPCredential) error {
	return wrap("put totp", db.tx(ctx, func(tx stmtTx) error {
		if ok, err := identityExists(ctx, tx, c.Fingerprint); err != nil {
			return err
		} else if !ok {
			return notFound("identity")
		}
		var confirmed bool
		err := tx.QueryRowContext(ctx, `SELECT confirmed_at IS NOT NULL FROM totp_credentials WHERE fingerprint = ?`, c.Fingerprint).Scan(&confirmed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case confirmed:
			return chusme.Errorf(chusme.CodeConflict, "TOTP is confirmed already")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_recovery_codes WHERE fingerprint = ?`, c.Fingerprint); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO totp_credentials
			(fingerprint, secret_sealed, last_step, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?)`,
			c.Fingerprint, c.SecretSealed, c.LastStep, unixNano(c.CreatedAt), unixNano(c.ConfirmedAt))
		return err
	}))
}

// GetTOTP returns the identity's credential. CodeNotFound if none.
func (db *DB) GetTOTP(ctx context.Context, fingerprint string) (chusme.TOTPCredential, error) {
	var c chusme.TOTPCredential
	var created, confirmed sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT fingerprint, secret_sealed, last_step, created_at, confirmed_at
		FROM totp_credentials WHERE fingerprint = ?`, fingerprint).
		Scan(&c.Fingerprint, &c.SecretSealed, &c.LastStep, &created, &confirmed)
	if errors.Is(err, sql.ErrNoRows) {
		return chusme.TOTPCredential{}, notFound("TOTP credential")
	}
	if err != nil {
		return chusme.TOTPCredential{}, wrap("get totp", err)
	}
	c.CreatedAt, c.ConfirmedAt = fromNano(created), fromNano(confirmed)
	return c, nil
}

// ConfirmTOTP confirms an unconfirmed credential, records step and replaces
// the recovery codes, in one transaction. CodeNotFound if there is no
// unconfirmed credential; CodeConflict if step is not after LastStep.
func (db *DB) ConfirmTOTP(ctx context.Context, fingerprint string, step int64, recoveryHashes [][]byte, at time.Time) error {
	return wrap("confirm totp", db.tx(ctx, func(tx stmtTx) error {
		var last int64
		err := tx.QueryRowContext(ctx, `SELECT last_step FROM totp_credentials
			WHERE fingerprint = ? AND confirmed_at IS NULL`, fingerprint).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("unconfirmed TOTP credential")
		} else if err != nil {
			return err
		}
		if step <= last {
			return chusme.Errorf(chusme.CodeConflict, "TOTP step already used")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE totp_credentials SET confirmed_at = ?, last_step = ? WHERE fingerprint = ?`,
			unixNano(at), step, fingerprint); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_recovery_codes WHERE fingerprint = ?`, fingerprint); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO totp_recovery_codes (fingerprint, hash) VALUES (?, ?)`, fingerprint, h); err != nil {
				return err
			}
		}
		return nil
	}))
}

// UseTOTPStep consumes a step of a confirmed credential if it is after the
// last accepted one. CodeConflict for a step not after LastStep;
// CodeNotFound if there is no confirmed credential.
func (db *DB) UseTOTPStep(ctx context.Context, fingerprint string, step int64) error {
	return wrap("use totp step", db.tx(ctx, func(tx stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE totp_credentials SET last_step = ?
			WHERE fingerprint = ? AND confirmed_at IS NOT NULL AND last_step < ?`, step, fingerprint, step)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var confirmed bool
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM totp_credentials
			WHERE fingerprint = ? AND confirmed_at IS NOT NULL)`, fingerprint).Scan(&confirmed)
		if err != nil {
			return err
		}
		if !confirmed {
			return notFound("confirmed TOTP credential")
		}
		return chusme.Errorf(chusme.CodeConflict, "TOTP step already used")
	}))
}

// UseRecoveryCode marks an unused recovery code used. CodeNotFound if
// unknown or used already.
func (db *DB) UseRecoveryCode(ctx context.Context, fingerprint string, hash []byte, at time.Time) error {
	return wrap("use recovery code", db.tx(ctx, func(tx stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE totp_recovery_codes SET used_at = ?
			WHERE fingerprint = ? AND hash = ? AND used_at IS NULL`, unixNano(at), fingerprint, hash)
		if err != nil {
			return err
		}
		return oneRow(res, "recovery code")
	}))
}

// RecoveryCodesLeft counts the identity's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, fingerprint string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM totp_recovery_codes
		WHERE fingerprint = ? AND used_at IS NULL`, fingerprint).Scan(&n)
	return n, wrap("recovery codes left", err)
}

// DeleteTOTP deletes the credential and its recovery codes. CodeNotFound if
// there is no credential.
func (db *DB) DeleteTOTP(ctx context.Context, fingerprint string) error {
	return wrap("delete totp", db.tx(ctx, func(tx stmtTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM totp_credentials WHERE fingerprint = ?`, fingerprint)
		if err != nil {
			return err
		}
		if err := oneRow(res, "TOTP credential"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM totp_recovery_codes WHERE fingerprint = ?`, fingerprint)
		return err
	}))
}

// GetBlob returns the identity's blob. CodeNotFound if none.
func (db *DB) GetBlob(ctx context.Context, fingerprint string) (chusme.Blob, error) {
	var b chusme.Blob
	var updated sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT fingerprint, content, etag, updated_at FROM identity_blobs WHERE fingerprint = ?`, fingerprint).
		Scan(&b.Fingerprint, &b.Content, &b.ETag, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return chusme.Blob{}, notFound("blob")
	}
	if err != nil {
		return chusme.Blob{}, wrap("get blob", err)
	}
	b.UpdatedAt = fromNano(updated)
	return b, nil
}

// PutBlob writes b under the precondition ifMatch: the stored ETag, "*" for
// any existing blob, or "" for no blob yet. CodeConflict if the
// precondition fails; CodeNotFound if the identity is unknown or (ifMatch
// not "") there is no blob.
func (db *DB) PutBlob(ctx context.Context, b chusme.Blob, ifMatch string) error {
	return wrap("put blob", db.tx(ctx, func(tx stmtTx) error {
		if ok, err := identityExists(ctx, tx, b.Fingerprint); err != nil {
			return err
		} else if !ok {
			return notFound("identity")
		}
		var current string
		err := tx.QueryRowContext(ctx, `SELECT etag FROM identity_blobs WHERE fingerprint = ?`, b.Fingerprint).Scan(&current)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		switch {
		case ifMatch == "" && exists:
			return chusme.Errorf(chusme.CodeConflict, "a blob exists already")
		case ifMatch != "" && !exists:
			return notFound("blob")
		case ifMatch != "" && ifMatch != "*" && ifMatch != current:
			return chusme.Errorf(chusme.CodeConflict, "the blob has changed")
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO identity_blobs (fingerprint, content, etag, updated_at) VALUES (?, ?, ?, ?)`,
			b.Fingerprint, b.Content, b.ETag, unixNano(b.UpdatedAt))
		return err
	}))
}

// ListChain returns the identity's entries after the genesis, in order.
// CodeNotFound if the identity is unknown.
func (db *DB) ListChain(ctx context.Context, fingerprint string) ([]chusme.ChainEntry, error) {
	// One read transaction, so that the existence check and the entries
	// come from the same snapshot.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrap("list chain", err)
	}
	defer tx.Rollback()
	if ok, err := identityExists(ctx, tx, fingerprint); err != nil {
		return nil, wrap("list chain", err)
	} else if !ok {
		return nil, notFound("identity")
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+entryColumns+` FROM chain_entries WHERE fingerprint = ? ORDER BY seq`, fingerprint)
	if err != nil {
		return nil, wrap("list chain", err)
	}
	defer rows.Close()
	var out []chusme.ChainEntry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, wrap("list chain", err)
		}
		out = append(out, e)
	}
	return out, wrap("list chain", rows.Err())
}

const entryColumns = `seq, kind, prev, old_key, new_key, cancels, time, signature, new_key_signature, hash, accepted_at`

func scanEntry(r interface{ Scan(...any) error }) (chusme.ChainEntry, error) {
	var e chusme.ChainEntry
	var seq, cancels int64
	var prev, oldKey, newKey, sig, newSig, hash []byte
	var accepted sql.NullInt64
	err := r.Scan(&seq, &e.Kind, &prev, &oldKey, &newKey, &cancels, &e.Time, &sig, &newSig, &hash, &accepted)
	e.Seq, e.Cancels = uint64(seq), uint64(cancels)
	e.Prev, e.OldKey, e.NewKey, e.Signature, e.NewKeySignature, e.Hash = prev, oldKey, newKey, sig, newSig, hash
	e.AcceptedAt = fromNano(accepted)
	return e, err
}

// AppendChainEntry runs decide on the identity and its last entry, then
// appends the entry, makes its NewKey the current key and revokes every live
// session of the identity, all in one transaction. CodeNotFound if the
// identity is unknown; CodeConflict if the Seq exists.
//
// decide runs while the one writer connection is held: it must not call back
// into the store.
func (db *DB) AppendChainEntry(ctx context.Context, fingerprint string, decide func(chusme.ChainState) (chusme.ChainEntry, error)) error {
	return wrap("append chain entry", db.tx(ctx, func(tx stmtTx) error {
		var st chusme.ChainState
		var created, banned sql.NullInt64
		id := &st.Identity
		err := tx.QueryRowContext(ctx, `SELECT fingerprint, genesis_key, public_key, role, status, created_at, banned_at
			FROM identities WHERE fingerprint = ?`, fingerprint).
			Scan(&id.Fingerprint, &id.GenesisKey, &id.PublicKey, &id.Role, &id.Status, &created, &banned)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("identity")
		} else if err != nil {
			return err
		}
		id.CreatedAt, id.BannedAt = fromNano(created), fromNano(banned)
		last, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM chain_entries
			WHERE fingerprint = ? ORDER BY seq DESC LIMIT 1`, fingerprint))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			st.Last = &last
		}
		e, err := decide(st)
		if err != nil {
			return err
		}
		if e.Seq == 0 || e.AcceptedAt.IsZero() {
			return errors.New("chain entry without a sequence number or an acceptance time")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chain_entries (`+entryColumns+`, fingerprint)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			int64(e.Seq), e.Kind, []byte(e.Prev), []byte(e.OldKey), []byte(e.NewKey), int64(e.Cancels), e.Time,
			[]byte(e.Signature), []byte(e.NewKeySignature), []byte(e.Hash), unixNano(e.AcceptedAt), fingerprint); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET public_key = ? WHERE fingerprint = ?`, []byte(e.NewKey), fingerprint); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, reason = ?
			WHERE fingerprint = ? AND revoked_at IS NULL`, unixNano(e.AcceptedAt), e.Kind, fingerprint)
		return err
	}))
}
