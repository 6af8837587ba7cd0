// Package identity holds the rules of an identity's public life after
// registration: its blob (the owner's encrypted key backup, written with
// compare-and-swap) and its chain of key rotations, cancellations and
// recovery keys.
//
// Rotation rules (DESIGN §3, docs/identity.md):
//
//   - A rotation statement (chusme.RotationMessage) names the next sequence
//     number, the hash of the chain's last entry, the current key and the
//     new key, and is signed by both keys. It takes effect at once: the new
//     key replaces the old one among the device keys and the old key's
//     sessions are revoked (the other devices' stay), in the transaction
//     that appends the entry.
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
//   - Recovery keys (SetRecoveryKeys, Recover, and Cancel with a signer)
//     outrank the device key: the rules are docs/protocol.md §6 "Recovery
//     keys", in one function that VerifyChain shares
//     (chusme.CheckChainAppend); every append is judged by it.
//   - An identity has 1..chusme.MaxDevices device keys (AddDevice,
//     RemoveDevice; docs/protocol.md §6 "Devices"): removing one revokes
//     its sessions at once.
package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// appendEntry appends the entry build returns to identity fp's chain if the
// chain's rules (chusme.CheckChainAppend) admit it, revoking with reason
// every session, or (oldKeyOnly) the sessions of the device key the entry's
// OldKey names. build gets the chain (genesis first) and returns the entry
// without its hash and acceptance time; it may refuse.
func (s *Service) appendEntry(ctx context.Context, fp string, unixTime int64, reason chusme.RevocationReason, oldKeyOnly bool,
	build func(chain []chusme.ChainEntry) (chusme.ChainEntry, error)) (chusme.ChainEntry, []string, error) {
	if !chusme.ValidFingerprint(fp) {
		return chusme.ChainEntry{}, nil, noIdentity()
	}
	now := s.now().UTC()
	if err := s.checkTime(unixTime, now); err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	var e chusme.ChainEntry
	revoked, err := s.store.AppendChainEntry(ctx, fp, func(st chusme.ChainState) (chusme.ChainAppend, error) {
		if st.Identity.Status != chusme.StatusActive {
			return chusme.ChainAppend{}, chusme.Errorf(chusme.CodeBanned, "identity is banned")
		}
		chain := append([]chusme.ChainEntry{chusme.GenesisEntry(st.Identity)}, st.Chain...)
		var err error
		if e, err = build(chain); err != nil {
			return chusme.ChainAppend{}, err
		}
		e.AcceptedAt = now
		e.Hash = chusme.EntryHash(s.issuer, fp, e)
		k, err := chusme.CheckChainAppend(s.issuer, fp, chain, e, keys.CheckPublicKey, keys.Verify)
		if err != nil {
			return chusme.ChainAppend{}, err
		}
		a := chusme.ChainAppend{Entry: e, Devices: k.Devices, Revoke: reason}
		if oldKeyOnly {
			a.RevokeDevice = e.OldKey
		}
		return a, nil
	})
	if err := s.appendError(err); err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	return e, revoked, nil
}

// checkKeys refuses a statement whose keys are not canonical Ed25519 keys;
// what names each key in the message.
func checkKeys(named map[string][]byte) error {
	for what, k := range named {
		if err := keys.CheckPublicKey(k); err != nil {
			return chusme.Errorf(chusme.CodeInvalidPublicKey, "%s: %v", what, err)
		}
	}
	return nil
}

// Rotate applies a dual-signed rotation of identity fp's key and returns the
// new chain entry. See the package documentation for the rules.
func (s *Service) Rotate(ctx context.Context, fp string, req chusme.RotationRequest) (chusme.ChainEntry, error) {
	if err := checkKeys(map[string][]byte{"new key": req.NewKey, "old key": req.OldKey}); err != nil {
		return chusme.ChainEntry{}, err
	}
	if req.Seq == 0 {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "seq must be at least 1")
	}
	e, revoked, err := s.appendEntry(ctx, fp, req.Time, chusme.RevokedRotate, true, func([]chusme.ChainEntry) (chusme.ChainEntry, error) {
		return chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryRotate, Prev: req.Prev, OldKey: req.OldKey, NewKey: req.NewKey,
			Time: req.Time, Signature: req.OldSignature, NewKeySignature: req.NewSignature,
		}, nil
	})
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Info("device key rotated; its sessions revoked", "fingerprint", fp, "seq", e.Seq, "sessions", len(revoked))
	return e, nil
}

// Recover applies a recovery rotation of identity fp's device key, signed by
// one of its recovery keys and the new key, and returns the new chain entry.
func (s *Service) Recover(ctx context.Context, fp string, req chusme.RecoverRequest) (chusme.ChainEntry, error) {
	if err := checkKeys(map[string][]byte{"new key": req.NewKey, "old key": req.OldKey, "signer": req.Signer}); err != nil {
		return chusme.ChainEntry{}, err
	}
	if req.Seq == 0 {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "seq must be at least 1")
	}
	e, revoked, err := s.appendEntry(ctx, fp, req.Time, chusme.RevokedRecover, false, func([]chusme.ChainEntry) (chusme.ChainEntry, error) {
		return chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryRecover, Prev: req.Prev, OldKey: req.OldKey, NewKey: req.NewKey, Signer: req.Signer,
			Time: req.Time, Signature: req.Signature, NewKeySignature: req.NewSignature,
		}, nil
	})
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Warn("identity key rotated by a recovery key; sessions revoked", "fingerprint", fp, "seq", e.Seq, "sessions", len(revoked))
	return e, nil
}

// SetRecoveryKeys applies a recovery-keys statement of identity fp (its new
// list of recovery keys, signed by the signer and every key it adds) and
// returns the new chain entry.
func (s *Service) SetRecoveryKeys(ctx context.Context, fp string, req chusme.RecoveryKeysRequest) (chusme.ChainEntry, error) {
	named := map[string][]byte{"device key": req.DeviceKey, "signer": req.Signer}
	for i, k := range req.RecoveryKeys {
		named[fmt.Sprintf("recovery key %d", i+1)] = k
	}
	if err := checkKeys(named); err != nil {
		return chusme.ChainEntry{}, err
	}
	if req.Seq == 0 {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "seq must be at least 1")
	}
	e, revoked, err := s.appendEntry(ctx, fp, req.Time, chusme.RevokedRecoveryKeys, false, func([]chusme.ChainEntry) (chusme.ChainEntry, error) {
		return chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryRecoveryKeys, Prev: req.Prev, OldKey: req.DeviceKey, NewKey: req.DeviceKey, Signer: req.Signer,
			RecoveryKeys: req.RecoveryKeys, KeySignatures: req.KeySignatures, Time: req.Time, Signature: req.Signature,
		}, nil
	})
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Warn("identity recovery keys changed; sessions revoked", "fingerprint", fp, "seq", e.Seq, "keys", len(e.RecoveryKeys), "sessions", len(revoked))
	return e, nil
}

// Cancel applies the cancellation of entry rotSeq of identity fp, signed by
// the key a device rotation replaced or (req.Signer) by a recovery key that
// outranks the entry's signer, and returns the new chain entry. Only the
// chain's last entry can be cancelled, within the cancel window.
func (s *Service) Cancel(ctx context.Context, fp string, rotSeq uint64, req chusme.CancelRequest) (chusme.ChainEntry, error) {
	if len(req.Signer) != 0 {
		if err := checkKeys(map[string][]byte{"signer": req.Signer}); err != nil {
			return chusme.ChainEntry{}, err
		}
	}
	e, revoked, err := s.appendEntry(ctx, fp, req.Time, chusme.RevokedCancel, false, func(chain []chusme.ChainEntry) (chusme.ChainEntry, error) {
		h := chain[len(chain)-1]
		if rotSeq == 0 || rotSeq > h.Seq {
			return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeNotFound, "no rotation %d", rotSeq)
		}
		return chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryCancel, Prev: req.Prev, OldKey: h.NewKey, NewKey: h.OldKey, Cancels: rotSeq,
			Signer: req.Signer, Time: req.Time, Signature: req.Signature,
		}, nil
	})
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Warn("key rotation cancelled; old keys restored, sessions revoked", "fingerprint", fp, "entry", rotSeq, "sessions", len(revoked))
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

// AddDevice adds a device key to identity fp: the statement is signed by a
// current device key (req.Signer) and the new key's join request signature
// comes with it. No session is revoked.
func (s *Service) AddDevice(ctx context.Context, fp string, req chusme.DeviceAddRequest) (chusme.ChainEntry, error) {
	if err := checkKeys(map[string][]byte{"new key": req.NewKey, "signer": req.Signer}); err != nil {
		return chusme.ChainEntry{}, err
	}
	if req.Seq == 0 {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "seq must be at least 1")
	}
	e, _, err := s.appendEntry(ctx, fp, req.Time, "", false, func([]chusme.ChainEntry) (chusme.ChainEntry, error) {
		return chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryDeviceAdd, Prev: req.Prev, NewKey: req.NewKey, Signer: req.Signer,
			JoinTime: req.JoinTime, Time: req.Time, Signature: req.Signature, NewKeySignature: req.JoinSignature,
		}, nil
	})
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Warn("device key added", "fingerprint", fp, "seq", e.Seq)
	return e, nil
}

// RemoveDevice removes a device key of identity fp, signed by a current
// device key (the removed one too) or a recovery key; the removed key's
// sessions are revoked in the same transaction.
func (s *Service) RemoveDevice(ctx context.Context, fp string, req chusme.DeviceRemoveRequest) (chusme.ChainEntry, error) {
	if err := checkKeys(map[string][]byte{"key": req.Key, "signer": req.Signer}); err != nil {
		return chusme.ChainEntry{}, err
	}
	if req.Seq == 0 {
		return chusme.ChainEntry{}, chusme.Errorf(chusme.CodeInvalidRequest, "seq must be at least 1")
	}
	e, revoked, err := s.appendEntry(ctx, fp, req.Time, chusme.RevokedDeviceRemove, true, func([]chusme.ChainEntry) (chusme.ChainEntry, error) {
		return chusme.ChainEntry{
			Seq: req.Seq, Kind: chusme.EntryDeviceRemove, Prev: req.Prev, OldKey: req.Key, Signer: req.Signer,
			Time: req.Time, Signature: req.Signature,
		}, nil
	})
	if err != nil {
		return chusme.ChainEntry{}, err
	}
	s.log.Warn("device key removed; its sessions revoked", "fingerprint", fp, "seq", e.Seq, "sessions", len(revoked))
	return e, nil
}
