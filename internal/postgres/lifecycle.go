package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chusme/chusme"
)

// identityExists reports whether the identity is known.
func identityExists(ctx context.Context, q querier, fp string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identities WHERE fingerprint = $1)`, fp).Scan(&ok)
	return ok, err
}

// PutTOTP stores an unconfirmed credential, replacing an unconfirmed one.
// CodeConflict if a confirmed one exists; CodeNotFound if the identity is
// unknown.
func (db *DB) PutTOTP(ctx context.Context, c chusme.TOTPCredential) error {
	return wrap("put totp", db.tx(ctx, func(tx pgx.Tx) error {
		if ok, err := identityExists(ctx, tx, c.Fingerprint); err != nil {
			return err
		} else if !ok {
			return notFound("identity")
		}
		var confirmed bool
		err := tx.QueryRow(ctx, `SELECT confirmed_at IS NOT NULL FROM totp_credentials WHERE fingerprint = $1 FOR UPDATE`,
			c.Fingerprint).Scan(&confirmed)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case confirmed:
			return chusme.Errorf(chusme.CodeConflict, "TOTP is confirmed already")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM totp_recovery_codes WHERE fingerprint = $1`, c.Fingerprint); err != nil {
			return err
		}
		// A credential inserted meanwhile by another node is replaced only
		// while it is unconfirmed.
		tag, err := tx.Exec(ctx, `INSERT INTO totp_credentials
			(fingerprint, secret_sealed, last_step, created_at, confirmed_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (fingerprint) DO UPDATE SET secret_sealed = excluded.secret_sealed,
				last_step = excluded.last_step, created_at = excluded.created_at, confirmed_at = excluded.confirmed_at
			WHERE totp_credentials.confirmed_at IS NULL`,
			c.Fingerprint, c.SecretSealed, c.LastStep, unixNano(c.CreatedAt), unixNano(c.ConfirmedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return chusme.Errorf(chusme.CodeConflict, "TOTP is confirmed already")
		}
		return nil
	}))
}

// GetTOTP returns the identity's credential. CodeNotFound if none.
func (db *DB) GetTOTP(ctx context.Context, fingerprint string) (chusme.TOTPCredential, error) {
	var c chusme.TOTPCredential
	var created, confirmed pgtype.Int8
	err := db.pool.QueryRow(ctx, `SELECT fingerprint, secret_sealed, last_step, created_at, confirmed_at
		FROM totp_credentials WHERE fingerprint = $1`, fingerprint).
		Scan(&c.Fingerprint, &c.SecretSealed, &c.LastStep, &created, &confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return chusme.TOTPCredential{}, notFound("TOTP credential")
	}
	if err != nil {
		return chusme.TOTPCredential{}, wrap("get totp", err)
	}
	c.CreatedAt, c.ConfirmedAt = fromNano(created), fromNano(confirmed)
	return c, nil
}

// ConfirmTOTP confirms an unconfirmed credential, records step and replaces
// the recovery codes, in one transaction that holds the credential's row.
// CodeNotFound if there is no unconfirmed credential; CodeConflict if step is
// not after LastStep.
func (db *DB) ConfirmTOTP(ctx context.Context, fingerprint string, step int64, recoveryHashes [][]byte, at time.Time) error {
	return wrap("confirm totp", db.tx(ctx, func(tx pgx.Tx) error {
		var last int64
		err := tx.QueryRow(ctx, `SELECT last_step FROM totp_credentials
			WHERE fingerprint = $1 AND confirmed_at IS NULL FOR UPDATE`, fingerprint).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("unconfirmed TOTP credential")
		} else if err != nil {
			return err
		}
		if step <= last {
			return chusme.Errorf(chusme.CodeConflict, "TOTP step already used")
		}
		if _, err := tx.Exec(ctx, `UPDATE totp_credentials SET confirmed_at = $1, last_step = $2 WHERE fingerprint = $3`,
			unixNano(at), step, fingerprint); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM totp_recovery_codes WHERE fingerprint = $1`, fingerprint); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.Exec(ctx, `INSERT INTO totp_recovery_codes (fingerprint, hash) VALUES ($1, $2)`, fingerprint, h); err != nil {
				return err
			}
		}
		return nil
	}))
}

// UseTOTPStep consumes a step of a confirmed credential if it is after the
// last accepted one, by a conditional UPDATE. CodeConflict for a step not
// after LastStep; CodeNotFound if there is no confirmed credential.
func (db *DB) UseTOTPStep(ctx context.Context, fingerprint string, step int64) error {
	return wrap("use totp step", db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE totp_credentials SET last_step = $1
			WHERE fingerprint = $2 AND confirmed_at IS NOT NULL AND last_step < $1`, step, fingerprint)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var confirmed bool
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM totp_credentials
			WHERE fingerprint = $1 AND confirmed_at IS NOT NULL)`, fingerprint).Scan(&confirmed)
		if err != nil {
			return err
		}
		if !confirmed {
			return notFound("confirmed TOTP credential")
		}
		return chusme.Errorf(chusme.CodeConflict, "TOTP step already used")
	}))
}

// UseRecoveryCode marks an unused recovery code used, by a conditional
// UPDATE. CodeNotFound if unknown or used already.
func (db *DB) UseRecoveryCode(ctx context.Context, fingerprint string, hash []byte, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE totp_recovery_codes SET used_at = $1
		WHERE fingerprint = $2 AND hash = $3 AND used_at IS NULL`, unixNano(at), fingerprint, hash)
	if err != nil {
		return wrap("use recovery code", err)
	}
	return oneRow(tag, "recovery code")
}

// RecoveryCodesLeft counts the identity's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, fingerprint string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM totp_recovery_codes
		WHERE fingerprint = $1 AND used_at IS NULL`, fingerprint).Scan(&n)
	return n, wrap("recovery codes left", err)
}

// DeleteTOTP deletes the credential and its recovery codes. CodeNotFound if
// there is no credential.
func (db *DB) DeleteTOTP(ctx context.Context, fingerprint string) error {
	return wrap("delete totp", db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM totp_credentials WHERE fingerprint = $1`, fingerprint)
		if err != nil {
			return err
		}
		if err := oneRow(tag, "TOTP credential"); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM totp_recovery_codes WHERE fingerprint = $1`, fingerprint)
		return err
	}))
}

// GetBlob returns the identity's blob. CodeNotFound if none.
func (db *DB) GetBlob(ctx context.Context, fingerprint string) (chusme.Blob, error) {
	var b chusme.Blob
	var updated pgtype.Int8
	err := db.pool.QueryRow(ctx, `SELECT fingerprint, content, etag, updated_at FROM identity_blobs WHERE fingerprint = $1`, fingerprint).
		Scan(&b.Fingerprint, &b.Content, &b.ETag, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
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
//
// The stored blob's row is held (FOR UPDATE) from the comparison to the
// write; a first blob is a plain INSERT, of which one of two concurrent ones
// fails on the primary key.
func (db *DB) PutBlob(ctx context.Context, b chusme.Blob, ifMatch string) error {
	return wrap("put blob", db.tx(ctx, func(tx pgx.Tx) error {
		if ok, err := identityExists(ctx, tx, b.Fingerprint); err != nil {
			return err
		} else if !ok {
			return notFound("identity")
		}
		var current string
		err := tx.QueryRow(ctx, `SELECT etag FROM identity_blobs WHERE fingerprint = $1 FOR UPDATE`, b.Fingerprint).Scan(&current)
		exists := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
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
		if !exists {
			_, err = tx.Exec(ctx, `INSERT INTO identity_blobs (fingerprint, content, etag, updated_at) VALUES ($1, $2, $3, $4)`,
				b.Fingerprint, b.Content, b.ETag, unixNano(b.UpdatedAt))
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE identity_blobs SET content = $2, etag = $3, updated_at = $4 WHERE fingerprint = $1`,
			b.Fingerprint, b.Content, b.ETag, unixNano(b.UpdatedAt))
		return err
	}))
}

// ListChain returns the identity's entries after the genesis, in order.
// CodeNotFound if the identity is unknown.
func (db *DB) ListChain(ctx context.Context, fingerprint string) ([]chusme.ChainEntry, error) {
	// One REPEATABLE READ transaction, so that the existence check and the
	// entries come from the same snapshot.
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap("list chain", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if ok, err := identityExists(ctx, tx, fingerprint); err != nil {
		return nil, wrap("list chain", err)
	} else if !ok {
		return nil, notFound("identity")
	}
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM chain_entries WHERE fingerprint = $1 ORDER BY seq`, fingerprint)
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

func scanEntry(r pgx.Row) (chusme.ChainEntry, error) {
	var e chusme.ChainEntry
	var seq, cancels int64
	var prev, oldKey, newKey, sig, newSig, hash []byte
	var accepted pgtype.Int8
	err := r.Scan(&seq, &e.Kind, &prev, &oldKey, &newKey, &cancels, &e.Time, &sig, &newSig, &hash, &accepted)
	e.Seq, e.Cancels = uint64(seq), uint64(cancels)
	e.Prev, e.OldKey, e.NewKey, e.Signature, e.NewKeySignature, e.Hash = prev, oldKey, newKey, sig, newSig, hash
	e.AcceptedAt = fromNano(accepted)
	return e, err
}

// AppendChainEntry runs decide on the identity and its last entry, then
// appends the entry, makes its NewKey the current key and revokes every live
// session of the identity, all in one transaction that holds the identity's
// row from before it reads the chain. CodeNotFound if the identity is
// unknown; CodeConflict if the Seq exists.
func (db *DB) AppendChainEntry(ctx context.Context, fingerprint string, decide func(chusme.ChainState) (chusme.ChainEntry, error)) error {
	return wrap("append chain entry", db.tx(ctx, func(tx pgx.Tx) error {
		var st chusme.ChainState
		var err error
		st.Identity, err = scanIdentity(tx.QueryRow(ctx, `SELECT `+identityColumns+` FROM identities
			WHERE fingerprint = $1 FOR UPDATE`, fingerprint))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("identity")
		} else if err != nil {
			return err
		}
		last, err := scanEntry(tx.QueryRow(ctx, `SELECT `+entryColumns+` FROM chain_entries
			WHERE fingerprint = $1 ORDER BY seq DESC LIMIT 1`, fingerprint))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
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
		if _, err := tx.Exec(ctx, `INSERT INTO chain_entries (`+entryColumns+`, fingerprint)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			int64(e.Seq), e.Kind, []byte(e.Prev), []byte(e.OldKey), []byte(e.NewKey), int64(e.Cancels), e.Time,
			[]byte(e.Signature), []byte(e.NewKeySignature), []byte(e.Hash), unixNano(e.AcceptedAt), fingerprint); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE identities SET public_key = $1 WHERE fingerprint = $2`, []byte(e.NewKey), fingerprint); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, reason = $2
			WHERE fingerprint = $3 AND revoked_at IS NULL`, unixNano(e.AcceptedAt), e.Kind, fingerprint)
		return err
	}))
}
