package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/chusme/chusme"
)

var (
	qIdentityExists  = newQuery(`SELECT EXISTS (SELECT 1 FROM identities WHERE fingerprint = ?)`)
	qTOTPConfirmed   = newQuery(`SELECT confirmed_at IS NOT NULL FROM totp_credentials WHERE fingerprint = ?{lock}`)
	qDeleteRecovery  = newQuery(`DELETE FROM totp_recovery_codes WHERE fingerprint = ?`)
	qInsertRecovery  = newQuery(`INSERT INTO totp_recovery_codes (fingerprint, hash) VALUES (?, ?)`)
	qUseRecoveryCode = newQuery(`UPDATE totp_recovery_codes SET used_at = ?
		WHERE fingerprint = ? AND hash = ? AND used_at IS NULL`)
	qRecoveryLeft = newQuery(`SELECT count(*) FROM totp_recovery_codes WHERE fingerprint = ? AND used_at IS NULL`)
	// A credential inserted meanwhile (by another node) is replaced only
	// while it is unconfirmed.
	qPutTOTP = newQuery(`INSERT INTO totp_credentials (` + totpColumns + `) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (fingerprint) DO UPDATE SET secret_sealed = excluded.secret_sealed,
			last_step = excluded.last_step, created_at = excluded.created_at, confirmed_at = excluded.confirmed_at
		WHERE totp_credentials.confirmed_at IS NULL`)
	qGetTOTP         = newQuery(`SELECT ` + totpColumns + ` FROM totp_credentials WHERE fingerprint = ?`)
	qUnconfirmedStep = newQuery(`SELECT last_step FROM totp_credentials WHERE fingerprint = ? AND confirmed_at IS NULL{lock}`)
	qConfirmTOTP     = newQuery(`UPDATE totp_credentials SET confirmed_at = ?, last_step = ? WHERE fingerprint = ?`)
	qUseTOTPStep     = newQuery(`UPDATE totp_credentials SET last_step = ?
		WHERE fingerprint = ? AND confirmed_at IS NOT NULL AND last_step < ?`)
	qTOTPIsConfirmed = newQuery(`SELECT EXISTS (SELECT 1 FROM totp_credentials WHERE fingerprint = ? AND confirmed_at IS NOT NULL)`)
	qDeleteTOTP      = newQuery(`DELETE FROM totp_credentials WHERE fingerprint = ?`)
	qGetBlob         = newQuery(`SELECT fingerprint, content, etag, updated_at FROM identity_blobs WHERE fingerprint = ?`)
	qBlobETag        = newQuery(`SELECT etag FROM identity_blobs WHERE fingerprint = ?{lock}`)
	qInsertBlob      = newQuery(`INSERT INTO identity_blobs (fingerprint, content, etag, updated_at) VALUES (?, ?, ?, ?)`)
	qUpdateBlob      = newQuery(`UPDATE identity_blobs SET content = ?, etag = ?, updated_at = ? WHERE fingerprint = ?`)
	qListChain       = newQuery(`SELECT ` + entryColumns + ` FROM chain_entries WHERE fingerprint = ? ORDER BY seq`)
	qInsertEntry     = newQuery(`INSERT INTO chain_entries (` + entryColumns + `, fingerprint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	// qRevokeDeviceSessions revokes the sessions one device key made, and
	// those made before sessions recorded their device key.
	qRevokeDeviceSessions = newQuery(`UPDATE sessions SET revoked_at = ?, reason = ?
		WHERE fingerprint = ? AND revoked_at IS NULL AND (device_key = ? OR device_key IS NULL) RETURNING id`)
	qSetPublicKey = newQuery(`UPDATE identities SET public_key = ?, device_keys = ? WHERE fingerprint = ?`)
)

const (
	totpColumns  = `fingerprint, secret_sealed, last_step, created_at, confirmed_at`
	entryColumns = `seq, kind, prev, old_key, new_key, cancels, time, signature, new_key_signature, hash, accepted_at,
		signer, recovery_keys, key_signatures, join_time`
)

// identityExists reports whether the identity is known.
func (s *Store) identityExists(ctx context.Context, c Conn, fp string) error {
	var ok bool
	if err := c.QueryRow(ctx, s.sql[qIdentityExists], fp).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return notFound("identity")
	}
	return nil
}

// PutTOTP stores an unconfirmed credential, replacing an unconfirmed one.
// CodeConflict if a confirmed one exists; CodeNotFound if the identity is
// unknown.
func (s *Store) PutTOTP(ctx context.Context, t chusme.TOTPCredential) error {
	return s.wrap("put totp", s.e.Write(ctx, func(c Conn) error {
		if err := s.identityExists(ctx, c, t.Fingerprint); err != nil {
			return err
		}
		var confirmed bool
		err := c.QueryRow(ctx, s.sql[qTOTPConfirmed], t.Fingerprint).Scan(&confirmed)
		switch {
		case noRows(err):
		case err != nil:
			return err
		case confirmed:
			return chusme.Errorf(chusme.CodeConflict, "TOTP is confirmed already")
		}
		if _, err := c.Exec(ctx, s.sql[qDeleteRecovery], t.Fingerprint); err != nil {
			return err
		}
		n, err := c.Exec(ctx, s.sql[qPutTOTP],
			t.Fingerprint, t.SecretSealed, t.LastStep, unixNano(t.CreatedAt), unixNano(t.ConfirmedAt))
		if err != nil {
			return err
		}
		if n != 1 {
			return chusme.Errorf(chusme.CodeConflict, "TOTP is confirmed already")
		}
		return nil
	}))
}

// GetTOTP returns the identity's credential. CodeNotFound if none.
func (s *Store) GetTOTP(ctx context.Context, fingerprint string) (chusme.TOTPCredential, error) {
	return read(ctx, s, "get totp", qGetTOTP, fingerprint, "TOTP credential", scanTOTP)
}

// scanTOTP scans totpColumns.
func scanTOTP(r Row) (chusme.TOTPCredential, error) {
	var t chusme.TOTPCredential
	var created, confirmed sql.NullInt64
	err := r.Scan(&t.Fingerprint, &t.SecretSealed, &t.LastStep, &created, &confirmed)
	t.CreatedAt, t.ConfirmedAt = fromNano(created), fromNano(confirmed)
	return t, err
}

// ConfirmTOTP confirms an unconfirmed credential, records step and replaces
// the recovery codes, in one transaction (that holds the credential's row
// where the dialect locks rows). CodeNotFound if there is no unconfirmed
// credential; CodeConflict if step is not after LastStep.
func (s *Store) ConfirmTOTP(ctx context.Context, fingerprint string, step int64, recoveryHashes [][]byte, at time.Time) error {
	return s.wrap("confirm totp", s.e.Write(ctx, func(c Conn) error {
		var last int64
		err := c.QueryRow(ctx, s.sql[qUnconfirmedStep], fingerprint).Scan(&last)
		if noRows(err) {
			return notFound("unconfirmed TOTP credential")
		} else if err != nil {
			return err
		}
		if step <= last {
			return chusme.Errorf(chusme.CodeConflict, "TOTP step already used")
		}
		if _, err := c.Exec(ctx, s.sql[qConfirmTOTP], unixNano(at), step, fingerprint); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, s.sql[qDeleteRecovery], fingerprint); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := c.Exec(ctx, s.sql[qInsertRecovery], fingerprint, h); err != nil {
				return err
			}
		}
		return nil
	}))
}

// UseTOTPStep consumes a step of a confirmed credential if it is after the
// last accepted one, by a conditional UPDATE. CodeConflict for a step not
// after LastStep; CodeNotFound if there is no confirmed credential.
func (s *Store) UseTOTPStep(ctx context.Context, fingerprint string, step int64) error {
	return s.wrap("use totp step", s.e.Write(ctx, func(c Conn) error {
		return s.conditional(ctx, c, qUseTOTPStep, []any{step, fingerprint, step}, qTOTPIsConfirmed, fingerprint,
			"confirmed TOTP credential", chusme.Errorf(chusme.CodeConflict, "TOTP step already used"))
	}))
}

// UseRecoveryCode marks an unused recovery code used, by a conditional
// UPDATE. CodeNotFound if unknown or used already.
func (s *Store) UseRecoveryCode(ctx context.Context, fingerprint string, hash []byte, at time.Time) error {
	return s.wrap("use recovery code", s.e.WriteOne(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, s.sql[qUseRecoveryCode], unixNano(at), fingerprint, hash)
		return oneRow(n, err, "recovery code")
	}))
}

// RecoveryCodesLeft counts the identity's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, fingerprint string) (int, error) {
	return s.count(ctx, "recovery codes left", qRecoveryLeft, fingerprint)
}

// DeleteTOTP deletes the credential and its recovery codes. CodeNotFound if
// there is no credential.
func (s *Store) DeleteTOTP(ctx context.Context, fingerprint string) error {
	return s.wrap("delete totp", s.e.Write(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, s.sql[qDeleteTOTP], fingerprint)
		if err := oneRow(n, err, "TOTP credential"); err != nil {
			return err
		}
		_, err = c.Exec(ctx, s.sql[qDeleteRecovery], fingerprint)
		return err
	}))
}

// GetBlob returns the identity's blob. CodeNotFound if none.
func (s *Store) GetBlob(ctx context.Context, fingerprint string) (chusme.Blob, error) {
	return read(ctx, s, "get blob", qGetBlob, fingerprint, "blob", scanBlob)
}

// scanBlob scans a row of qGetBlob.
func scanBlob(r Row) (chusme.Blob, error) {
	var b chusme.Blob
	var updated sql.NullInt64
	err := r.Scan(&b.Fingerprint, &b.Content, &b.ETag, &updated)
	b.UpdatedAt = fromNano(updated)
	return b, err
}

// PutBlob writes b under the precondition ifMatch: the stored ETag, "*" for
// any existing blob, or "" for no blob yet. CodeConflict if the
// precondition fails; CodeNotFound if the identity is unknown or (ifMatch
// not "") there is no blob.
//
// The stored blob's row is held (where the dialect locks rows) from the
// comparison to the write; a first blob is a plain INSERT, of which one of
// two concurrent ones fails on the primary key.
func (s *Store) PutBlob(ctx context.Context, b chusme.Blob, ifMatch string) error {
	return s.wrap("put blob", s.e.Write(ctx, func(c Conn) error {
		if err := s.identityExists(ctx, c, b.Fingerprint); err != nil {
			return err
		}
		var current string
		err := c.QueryRow(ctx, s.sql[qBlobETag], b.Fingerprint).Scan(&current)
		exists := err == nil
		if err != nil && !noRows(err) {
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
			_, err = c.Exec(ctx, s.sql[qInsertBlob], b.Fingerprint, b.Content, b.ETag, unixNano(b.UpdatedAt))
			return err
		}
		_, err = c.Exec(ctx, s.sql[qUpdateBlob], b.Content, b.ETag, unixNano(b.UpdatedAt), b.Fingerprint)
		return err
	}))
}

// ListChain returns the identity's entries after the genesis, in order.
// CodeNotFound if the identity is unknown.
func (s *Store) ListChain(ctx context.Context, fingerprint string) ([]chusme.ChainEntry, error) {
	// One snapshot, so that the existence check and the entries agree.
	var out []chusme.ChainEntry
	err := s.e.Snapshot(ctx, func(c Conn) error {
		if err := s.identityExists(ctx, c, fingerprint); err != nil {
			return err
		}
		rows, err := c.Query(ctx, s.sql[qListChain], fingerprint)
		out, err = collect(rows, err, scanEntry)
		return err
	})
	return out, s.wrap("list chain", err)
}

// scanEntry scans entryColumns.
func scanEntry(r Row) (chusme.ChainEntry, error) {
	var e chusme.ChainEntry
	var seq, cancels int64
	var prev, oldKey, newKey, sig, newSig, hash []byte
	var accepted sql.NullInt64
	var signer []byte
	var recoveryKeys, keySigs string
	err := r.Scan(&seq, &e.Kind, &prev, &oldKey, &newKey, &cancels, &e.Time, &sig, &newSig, &hash, &accepted,
		&signer, &recoveryKeys, &keySigs, &e.JoinTime)
	if err != nil {
		return e, err
	}
	e.Seq, e.Cancels = uint64(seq), uint64(cancels)
	e.Prev, e.OldKey, e.NewKey, e.Signature, e.NewKeySignature, e.Hash, e.Signer = prev, oldKey, newKey, sig, newSig, hash, signer
	e.AcceptedAt = fromNano(accepted)
	if e.RecoveryKeys, err = keyList(recoveryKeys); err != nil {
		return e, err
	}
	e.KeySignatures, err = keyList(keySigs)
	return e, err
}

// notNull returns k, empty but not nil: old_key and new_key are NOT NULL,
// and a device addition has no old key, a removal no new key.
func notNull(k chusme.Bytes) []byte {
	if k == nil {
		return []byte{}
	}
	return k
}

// keyList decodes a recovery_keys or key_signatures column: a JSON list of
// base64 strings, nil if empty.
func keyList(col string) ([]chusme.Bytes, error) {
	var l []chusme.Bytes
	if err := json.Unmarshal([]byte(col), &l); err != nil || len(l) == 0 {
		return nil, err
	}
	return l, nil
}

// keyListColumn encodes a recovery_keys or key_signatures column.
func keyListColumn(l []chusme.Bytes) (string, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// AppendChainEntry runs decide on the identity and its last entry, then
// appends the entry, makes decide's device keys the current ones (the first
// the identity's public key) and revokes the live sessions of the identity
// (all, or those of decide's RevokeDevice) with the reason decide returned
// (none if empty),
// all in one transaction (that holds the identity's row from before it reads
// the chain, where the dialect locks rows); it returns the ids of the
// sessions it revoked. CodeNotFound if the identity is unknown; CodeConflict
// if the Seq exists. decide must not call back into the store.
func (s *Store) AppendChainEntry(ctx context.Context, fingerprint string, decide func(chusme.ChainState) (chusme.ChainAppend, error)) ([]string, error) {
	var revoked []string
	err := s.e.Write(ctx, func(c Conn) error {
		var st chusme.ChainState
		var err error
		if st.Identity, err = one(c.QueryRow(ctx, s.sql[qLockIdentity], fingerprint), "identity", scanIdentity); err != nil {
			return err
		}
		rows, err := c.Query(ctx, s.sql[qListChain], fingerprint)
		if st.Chain, err = collect(rows, err, scanEntry); err != nil {
			return err
		}
		if len(st.Chain) > 0 {
			st.Last = &st.Chain[len(st.Chain)-1]
		}
		a, err := decide(st)
		if err != nil {
			return err
		}
		e := a.Entry
		if e.Seq == 0 || e.AcceptedAt.IsZero() {
			return errors.New("chain entry without a sequence number or an acceptance time")
		}
		recoveryKeys, err := keyListColumn(e.RecoveryKeys)
		if err != nil {
			return err
		}
		keySigs, err := keyListColumn(e.KeySignatures)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, s.sql[qInsertEntry],
			int64(e.Seq), e.Kind, []byte(e.Prev), notNull(e.OldKey), notNull(e.NewKey), int64(e.Cancels), e.Time,
			[]byte(e.Signature), []byte(e.NewKeySignature), []byte(e.Hash), unixNano(e.AcceptedAt),
			[]byte(e.Signer), recoveryKeys, keySigs, e.JoinTime, fingerprint); err != nil {
			return err
		}
		if len(a.Devices) == 0 {
			return errors.New("chain entry without the device keys after it")
		}
		devices, err := keyListColumn(a.Devices)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, s.sql[qSetPublicKey], []byte(a.Devices[0]), devices, fingerprint); err != nil {
			return err
		}
		if len(a.RevokeDevice) != 0 && a.Revoke != "" {
			rows, err := c.Query(ctx, s.sql[qRevokeDeviceSessions], unixNano(e.AcceptedAt), string(a.Revoke), fingerprint, []byte(a.RevokeDevice))
			revoked, err = collect(rows, err, scanID)
			return err
		}
		revoked, err = s.revokeIdentitySessions(ctx, c, fingerprint, e.AcceptedAt, a.Revoke)
		return err
	})
	return revoked, s.wrap("append chain entry", err)
}
