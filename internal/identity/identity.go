// Package identity holds the rules of an identity's public life after
// registration: its blob (the owner's encrypted key backup, written with
// compare-and-swap) and its chain of key rotations and cancellations.
//
// Rotation rules (DESIGN §3, docs/identity.md):
//
//   - A rotation statement (chusme.RotationMessage) names the next sequence
//     number, the hash of the chain's last entry, the current key and the
//     new key, and is signed by both keys. It takes effect at once: the new
//     key becomes current and every session of the identity is revoked, in
//     the transaction that appends the entry.
//   - For chusme.RotationCancelWindow (72 h) after the server accepted it,
//     the key the rotation replaced can cancel it (chusme.CancelMessage):
//     the old key is current again and every session is revoked again.
//     Afterwards the rotation is final.
//   - While the last entry is a rotation that can still be cancelled, a
//     new rotation is refused (chusme.CodeRotationPending). Chaining
//     rotations would let a thief of the current key push the stolen
//     rotation out of the owner's reach (only the last entry can be
//     cancelled, and cancelling needs the key that entry replaced).
//   - Statements must be within chusme.MaxStatementSkew of the server's
//     clock, and a statement whose sequence number, previous hash or old
//     key does not match the chain's head is refused
//     (chusme.CodeChainConflict), so a replayed or reordered statement
//     never applies.
package identity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/keys"
)

// Service implements the rules. It is safe for concurrent use.
type Service struct {
	store  chusme.Store
	issuer string // bound into every statement
	now    func() time.Time
	log    *slog.Logger
}

// New returns a service; issuer is the server's issuer, now its clock.
func New(store chusme.Store, issuer string, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: store, issuer: issuer, now: now, log: log}
}

// Issuer returns the issuer statements are bound to.
func (s *Service) Issuer() string { return s.issuer }

func noIdentity() error { return chusme.Errorf(chusme.CodeNotFound, "no such identity") }

// Blob returns an identity's blob. CodeNotFound if the identity or its blob
// does not exist.
func (s *Service) Blob(ctx context.Context, fp string) (chusme.Blob, error) {
	if !chusme.ValidFingerprint(fp) {
		return chusme.Blob{}, noIdentity()
	}
	b, err := s.store.GetBlob(ctx, fp)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return chusme.Blob{}, chusme.Errorf(chusme.CodeNotFound, "no blob for this identity")
	}
	return b, err
}

// ETag returns the entity tag of blob content: its hex SHA-256.
func ETag(content []byte) string {
	h := sha256.Sum256(content)
	return hex.EncodeToString(h[:])
}

// PutBlob writes the blob of identity fp for caller, who must be fp.
// Exactly one precondition is needed: ifMatch, the current ETag (unquoted)
// or "*", to replace a blob; or ifNoneMatch "*" to write the first one.
// CodePreconditionRequired without either, CodePreconditionFailed when it
// does not hold (nothing is written then).
func (s *Service) PutBlob(ctx context.Context, caller, fp string, content []byte, ifMatch, ifNoneMatch string) (chusme.Blob, error) {
	switch {
	case caller != fp:
		return chusme.Blob{}, chusme.Errorf(chusme.CodeForbidden, "only the identity itself may write its blob")
	case len(content) == 0:
		return chusme.Blob{}, chusme.Errorf(chusme.CodeInvalidRequest, "the blob is empty")
	case len(content) > chusme.MaxBlobSize:
		return chusme.Blob{}, chusme.Errorf(chusme.CodeBodyTooLarge, "the blob is larger than %d bytes", chusme.MaxBlobSize)
	case ifMatch != "" && ifNoneMatch != "":
		return chusme.Blob{}, chusme.Errorf(chusme.CodeInvalidRequest, "send If-Match or If-None-Match, not both")
	case ifNoneMatch != "" && ifNoneMatch != "*":
		return chusme.Blob{}, chusme.Errorf(chusme.CodeInvalidRequest, `If-None-Match must be "*"`)
	case ifMatch == "" && ifNoneMatch == "":
		return chusme.Blob{}, chusme.Errorf(chusme.CodePreconditionRequired,
			`send If-Match with the blob's ETag, or If-None-Match: * for the first write`)
	}
	b := chusme.Blob{Fingerprint: fp, Content: content, ETag: ETag(content), UpdatedAt: s.now().UTC()}
	err := s.store.PutBlob(ctx, b, ifMatch)
	switch chusme.ErrorCode(err) {
	case "":
		return b, nil
	case chusme.CodeConflict:
		return chusme.Blob{}, chusme.Errorf(chusme.CodePreconditionFailed, "the blob has changed (or exists already): fetch it and retry")
	case chusme.CodeNotFound:
		if _, ierr := s.store.GetIdentity(ctx, fp); chusme.ErrorCode(ierr) == chusme.CodeNotFound {
			return chusme.Blob{}, noIdentity()
		}
		return chusme.Blob{}, chusme.Errorf(chusme.CodePreconditionFailed, "there is no blob to match: write it with If-None-Match: *")
	default:
		return chusme.Blob{}, err
	}
}

// Chain returns an identity's chain: the genesis and every later entry, in
// order.
func (s *Service) Chain(ctx context.Context, fp string) (chusme.ChainResponse, error) {
	if !chusme.ValidFingerprint(fp) {
		return chusme.ChainResponse{}, noIdentity()
	}
	id, err := s.store.GetIdentity(ctx, fp)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return chusme.ChainResponse{}, noIdentity()
	} else if err != nil {
		return chusme.ChainResponse{}, err
	}
	rest, err := s.store.ListChain(ctx, fp)
	if err != nil {
		return chusme.ChainResponse{}, err
	}
	return chusme.ChainResponse{
		Fingerprint: fp, Issuer: s.issuer,
		Entries: append([]chusme.ChainEntry{chusme.GenesisEntry(id)}, rest...),
	}, nil
}

// checkTime refuses a statement time too far from the server's clock.
func (s *Service) checkTime(unix int64, now time.Time) error {
	d := now.Sub(time.Unix(unix, 0))
	if d > chusme.MaxStatementSkew || d < -chusme.MaxStatementSkew {
		return chusme.Errorf(chusme.CodeInvalidRequest, "the statement's time is more than %s from the server's clock", chusme.MaxStatementSkew)
	}
	return nil
}

// head returns the chain's last entry.
func head(st chusme.ChainState) chusme.ChainEntry {
	if st.Last != nil {
		return *st.Last
	}
	return chusme.GenesisEntry(st.Identity)
}

// pending reports whether e is a rotation that can still be cancelled at now.
func pending(e chusme.ChainEntry, now time.Time) bool {
	return e.Kind == chusme.EntryRotate && now.Before(e.AcceptedAt.Add(chusme.RotationCancelWindow))
}

// Rotate applies a dual-signed rotation of identity fp's key and returns the
// new chain entry. See the package documentation for the rules.
func (s *Service) Rotate(ctx context.Context, fp string, req chusme.RotationRequest) (chusme.ChainEntry, error) {
	if !chusme.ValidFingerprint(fp) {
		return chusme.ChainEntry{}, noIdentity()
	}
	now := s.now().UTC()
	if err := keys.CheckPublicKey(req.NewKey); err != nil {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidPublicKey, "new key: %v", err)
	}
	if err := keys.CheckPublicKey(req.OldKey); err != nil {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidPublicKey, "old key: %v", err)
	}
	if bytes.Equal(req.NewKey, req.OldKey) {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "the new key is the old key")
	}
	if req.Seq == 0 {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "seq must be at least 1")
	}
	if err := s.checkTime(req.Time, now); err != nil {
		return chusme.ChainEntry{}, err
	}
	e := chusme.ChainEntry{
		Seq: req.Seq, Kind: chusme.EntryRotate, Prev: req.Prev, OldKey: req.OldKey, NewKey: req.NewKey,
		Time: req.Time, Signature: req.OldSignature, NewKeySignature: req.NewSignature, AcceptedAt: now,
	}
	msg := e.Statement(s.issuer, fp)
	if keys.Verify(req.OldKey, msg, req.OldSignature) != nil || keys.Verify(req.NewKey, msg, req.NewSignature) != nil {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidSignature, "the rotation needs valid signatures of both the old and the new key")
	}
	e.Hash = chusme.EntryHash(s.issuer, fp, e)
	revoked, err := s.store.AppendChainEntry(ctx, fp, func(st chusme.ChainState) (chusme.ChainAppend, error) {
		h := head(st)
		switch {
		case st.Identity.Status != chusme.StatusActive:
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeBanned, "identity is banned")
		case e.Seq != h.Seq+1 || !bytes.Equal(e.Prev, h.Hash):
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeChainConflict, "the statement does not follow the chain's last entry (seq %d): fetch the chain and sign again", h.Seq)
		case !bytes.Equal(e.OldKey, st.Identity.PublicKey):
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeChainConflict, "old_key is not the identity's current key")
		case pending(h, now):
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeRotationPending, "rotation %d can be cancelled until %s; rotate again after that",
				h.Seq, h.AcceptedAt.Add(chusme.RotationCancelWindow).Format(time.RFC3339))
		}
		return chusme.ChainAppend{Entry: e, Revoke: chusme.RevokedRotate}, nil
	})
	if err := s.appendError(err); err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Info("identity key rotated; sessions revoked", "fingerprint", fp, "seq", e.Seq, "sessions", len(revoked))
	return e, nil
}

// Cancel applies the cancellation of rotation rotSeq of identity fp, signed
// by the key that rotation replaced, and returns the new chain entry. Only
// the chain's last entry can be cancelled, within the cancel window.
func (s *Service) Cancel(ctx context.Context, fp string, rotSeq uint64, req chusme.CancelRequest) (chusme.ChainEntry, error) {
	if !chusme.ValidFingerprint(fp) {
		return chusme.ChainEntry{}, noIdentity()
	}
	now := s.now().UTC()
	if err := s.checkTime(req.Time, now); err != nil {
		return chusme.ChainEntry{}, err
	}
	var e chusme.ChainEntry
	revoked, err := s.store.AppendChainEntry(ctx, fp, func(st chusme.ChainState) (chusme.ChainAppend, error) {
		h := head(st)
		switch {
		case st.Identity.Status != chusme.StatusActive:
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeBanned, "identity is banned")
		case rotSeq == 0 || rotSeq > h.Seq:
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeNotFound, "no rotation %d", rotSeq)
		case rotSeq != h.Seq || h.Kind != chusme.EntryRotate:
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeChainConflict, "entry %d is not the chain's last entry or not a rotation: only the last rotation can be cancelled", rotSeq)
		case !now.Before(h.AcceptedAt.Add(chusme.RotationCancelWindow)):
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeRotationFinal, "rotation %d is final: its cancel window ended %s",
				rotSeq, h.AcceptedAt.Add(chusme.RotationCancelWindow).Format(time.RFC3339))
		case req.Seq != h.Seq+1 || !bytes.Equal(req.Prev, h.Hash):
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeChainConflict, "the statement does not follow the chain's last entry (seq %d)", h.Seq)
		}
		e = chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryCancel, Prev: req.Prev, OldKey: h.NewKey, NewKey: h.OldKey, Cancels: rotSeq,
			Time: req.Time, Signature: req.Signature, AcceptedAt: now,
		}
		if keys.Verify(e.NewKey, e.Statement(s.issuer, fp), e.Signature) != nil {
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeInvalidSignature, "the cancellation needs a valid signature of the key the rotation replaced")
		}
		e.Hash = chusme.EntryHash(s.issuer, fp, e)
		return chusme.ChainAppend{Entry: e, Revoke: chusme.RevokedCancel}, nil
	})
	if err := s.appendError(err); err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Warn("key rotation cancelled; old key restored, sessions revoked", "fingerprint", fp, "rotation", rotSeq, "sessions", len(revoked))
	return e, nil
}

// appendError maps the store's errors of an append to the API's: a
// sequence number taken meanwhile is a chain conflict; decide's errors and
// CodeNotFound (unknown identity) pass through.
func (s *Service) appendError(err error) error {
	if chusme.ErrorCode(err) == chusme.CodeConflict {
		return chusme.Errorf(chusme.CodeChainConflict, "another entry took this sequence number: fetch the chain and sign again")
	}
	return err
}
