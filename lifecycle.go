package chusme

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// Identity lifecycle: TOTP second factor, the identity blob (the client's
// encrypted key backup) and the identity chain (genesis, key rotations and
// their cancellations, hash-linked).
//
// The chain of an identity is a list of entries numbered from 0. Entry 0,
// the genesis, holds the genesis key (its SHA-256 is the fingerprint). Every
// later entry is either a rotation, signed by both the key it replaces and
// the new key, or the cancellation of the rotation right before it, signed
// by the key that rotation replaced and restoring it. Each entry names the
// hash of the one before, and the key after an entry is its NewKey, so the
// current key follows from the fingerprint and the chain alone (see
// VerifyChain).

// Error codes of the identity lifecycle (see the Code constants in chusme.go).
const (
	CodeTOTPRequired         = "totp_required"         // the identity has TOTP on: send totp_code or recovery_code
	CodeTOTPInvalid          = "totp_invalid"          // wrong, replayed or expired TOTP or recovery code
	CodeTOTPNotEnabled       = "totp_not_enabled"      // no (confirmed) TOTP credential to use or disable
	CodeTOTPEnabled          = "totp_enabled"          // TOTP is on already: disable it before enrolling again
	CodePreconditionFailed   = "precondition_failed"   // If-Match / If-None-Match does not hold: the blob changed
	CodePreconditionRequired = "precondition_required" // a blob write without If-Match or If-None-Match
	CodeChainConflict        = "chain_conflict"        // a statement's seq, previous hash or keys don't match the chain head
	CodeRotationPending      = "rotation_pending"      // the last rotation can still be cancelled: no new one until it is final
	CodeRotationFinal        = "rotation_final"        // the rotation is past its cancel window (or was not the last entry)
)

// Chain entry kinds.
const (
	EntryGenesis = "genesis"
	EntryRotate  = "rotate"
	EntryCancel  = "cancel"
)

// RotationCancelWindow is how long a rotation can be cancelled by the key it
// replaced, counted from the moment the server accepted it: 72 hours.
const RotationCancelWindow = 72 * time.Hour

// MaxStatementSkew is how far a rotation or cancellation statement's time
// may be from the server's clock when it is submitted: 5 minutes. It keeps
// statements fresh (one can't be signed now and played much later) and
// bounds how far the signed times may differ from the server's.
const MaxStatementSkew = 5 * time.Minute

// MaxBlobSize is the largest identity blob: 64 KiB.
const MaxBlobSize = 64 << 10

// ChainEntry is one entry of an identity's chain, in the store and on the
// wire (GET /v1/identities/{fp}/chain).
type ChainEntry struct {
	Seq  uint64 `json:"seq"`  // 0 for the genesis, then 1, 2, …
	Kind string `json:"kind"` // EntryGenesis, EntryRotate or EntryCancel
	// Prev is the hash of entry Seq-1; empty for the genesis.
	Prev Bytes `json:"prev,omitempty"`
	// OldKey is the key the entry replaces: for a rotation the current key
	// before it, for a cancellation the rotation's new key. Empty for the
	// genesis.
	OldKey Bytes `json:"old_key,omitempty"`
	// NewKey is the current key after the entry: the genesis key, the
	// rotation's new key, or the key a cancellation restores.
	NewKey Bytes `json:"new_key"`
	// Cancels is, for a cancellation, the Seq of the rotation it cancels.
	Cancels uint64 `json:"cancels,omitempty"`
	// Time is the statement's time in Unix seconds, as signed; for the
	// genesis the registration time (not covered by the hash).
	Time int64 `json:"time"`
	// Signature is by OldKey for a rotation and by NewKey (the restored
	// key) for a cancellation; empty for the genesis.
	Signature Bytes `json:"signature,omitempty"`
	// NewKeySignature is a rotation's signature by NewKey.
	NewKeySignature Bytes `json:"new_key_signature,omitempty"`
	// Hash is EntryHash of the entry.
	Hash Bytes `json:"hash"`
	// AcceptedAt is when the server accepted the entry (registration for
	// the genesis); a rotation's cancel window runs from it.
	AcceptedAt time.Time `json:"accepted_at"`
}

// ChainResponse is the answer of GET /v1/identities/{fp}/chain. Statements
// are bound to Issuer; a client checks it is the server it expects.
type ChainResponse struct {
	Fingerprint string       `json:"fingerprint"`
	Issuer      string       `json:"issuer"`
	Entries     []ChainEntry `json:"entries"`
}

// ChainHead names an identity chain's last entry: its sequence number and
// its hash (EntryHash). Clients pin the head of each chain they verified: a
// later chain of that identity must hold the same hash at that sequence
// number (extend it).
type ChainHead struct {
	Seq  uint64 `json:"seq"`
	Hash Bytes  `json:"hash"`
}

// Head returns the head of the chain r holds, the zero ChainHead if it has
// no entry. It means something only once the chain verifies (VerifyChain).
func (r ChainResponse) Head() ChainHead {
	if len(r.Entries) == 0 {
		return ChainHead{}
	}
	e := r.Entries[len(r.Entries)-1]
	return ChainHead{Seq: e.Seq, Hash: e.Hash}
}

// String names the head in messages: its sequence number and the first 8
// bytes of its hash in hex.
func (h ChainHead) String() string {
	return fmt.Sprintf("seq %d hash %x…", h.Seq, h.Hash[:min(8, len(h.Hash))])
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func i64(v int64) []byte  { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// RotationMessage is what both the old and the new key sign to rotate an
// identity's key: the rotation label, the issuer, the fingerprint, the new
// entry's sequence number, the hash of the previous entry, the old and new
// keys and the time in Unix seconds.
func RotationMessage(issuer, fp string, seq uint64, prev, oldKey, newKey []byte, unixTime int64) []byte {
	return signedMessage(LabelRotate, []byte(issuer), []byte(fp), u64(seq), prev, oldKey, newKey, i64(unixTime))
}

// TOTPConfirmMessage is what an identity's current key signs to turn TOTP on:
// the label, the issuer, the fingerprint and the SHA-256 of the enrolled
// secret's raw bytes. An access token alone can't turn TOTP on (and lock the
// key's owner out); the secret's hash ties the signature to one enrolment.
func TOTPConfirmMessage(issuer, fp string, secret []byte) []byte {
	sum := sha256.Sum256(secret)
	return signedMessage(LabelTOTPConfirm, []byte(issuer), []byte(fp), sum[:])
}

// CancelMessage is what the key a rotation replaced signs to cancel it: the
// cancel label, the issuer, the fingerprint, the new entry's sequence
// number, the hash of the previous entry (the rotation), the rotation's
// sequence number, the key dropped (the rotation's new key), the key
// restored (its old key) and the time in Unix seconds.
func CancelMessage(issuer, fp string, seq, cancels uint64, prev, dropped, restored []byte, unixTime int64) []byte {
	return signedMessage(LabelRotateCancel, []byte(issuer), []byte(fp), u64(seq), prev, u64(cancels), dropped, restored, i64(unixTime))
}

// Statement returns the bytes the entry's signatures are over (for the
// genesis, its content: the fingerprint and the genesis key).
func (e ChainEntry) Statement(issuer, fp string) []byte {
	switch e.Kind {
	case EntryRotate:
		return RotationMessage(issuer, fp, e.Seq, e.Prev, e.OldKey, e.NewKey, e.Time)
	case EntryCancel:
		return CancelMessage(issuer, fp, e.Seq, e.Cancels, e.Prev, e.OldKey, e.NewKey, e.Time)
	default:
		return signedMessage(LabelChainGenesis, []byte(fp), e.NewKey)
	}
}

// EntryHash returns the hash that links the next entry to e: SHA-256 over
// the entry label, the kind, the statement and both signatures.
func EntryHash(issuer, fp string, e ChainEntry) []byte {
	h := sha256.Sum256(signedMessage(LabelChainEntry, []byte(e.Kind), e.Statement(issuer, fp), e.Signature, e.NewKeySignature))
	return h[:]
}

// GenesisEntry returns entry 0 of an identity's chain.
func GenesisEntry(id Identity) ChainEntry {
	e := ChainEntry{
		Seq: 0, Kind: EntryGenesis, NewKey: Bytes(id.GenesisKey),
		Time: id.CreatedAt.Unix(), AcceptedAt: id.CreatedAt,
	}
	e.Hash = EntryHash("", id.Fingerprint, e)
	return e
}

// ChainVerifier checks signatures; package keys' Verify is the one to use
// (the root package imports the standard library only).
type ChainVerifier func(publicKey, message, signature []byte) error

// VerifyChain checks a chain offline from the fingerprint alone and returns
// the current key. checkKey checks a public key strictly, verify a
// signature (keys.CheckPublicKey and keys.Verify). It refuses a chain whose
// genesis key does not hash to fp, whose entries are out of order, missing,
// altered or badly signed, a rotation made while the previous one could
// still be cancelled, and a cancellation that does not follow its rotation
// within the window (judged on the signed times, with MaxStatementSkew of
// slack on either side).
func VerifyChain(issuer, fp string, entries []ChainEntry, checkKey func([]byte) error, verify ChainVerifier) ([]byte, error) {
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, Errorf(CodeChainConflict, "chain: "+format, args...)
	}
	if len(entries) == 0 {
		return bad("no genesis entry")
	}
	g := entries[0]
	if g.Kind != EntryGenesis || g.Seq != 0 || len(g.Prev) != 0 || len(g.OldKey) != 0 || len(g.Signature) != 0 || len(g.NewKeySignature) != 0 {
		return bad("entry 0 is not a genesis entry")
	}
	if Fingerprint(g.NewKey) != fp {
		return bad("the genesis key does not hash to the fingerprint")
	}
	if err := checkKey(g.NewKey); err != nil {
		return bad("genesis key: %v", err)
	}
	if !bytes.Equal(EntryHash("", fp, g), g.Hash) {
		return bad("entry 0: hash does not match")
	}
	cur := g.NewKey
	slack := int64(2 * MaxStatementSkew / time.Second)
	window := int64(RotationCancelWindow / time.Second)
	for i := 1; i < len(entries); i++ {
		e, prev := entries[i], entries[i-1]
		if e.Seq != uint64(i) {
			return bad("entry %d has sequence number %d", i, e.Seq)
		}
		if !bytes.Equal(e.Prev, prev.Hash) {
			return bad("entry %d does not link to entry %d", i, i-1)
		}
		if !bytes.Equal(EntryHash(issuer, fp, e), e.Hash) {
			return bad("entry %d: hash does not match", i)
		}
		msg := e.Statement(issuer, fp)
		switch e.Kind {
		case EntryRotate:
			if !bytes.Equal(e.OldKey, cur) {
				return bad("entry %d rotates a key that is not the current one", i)
			}
			if err := checkKey(e.NewKey); err != nil {
				return bad("entry %d: new key: %v", i, err)
			}
			if bytes.Equal(e.NewKey, e.OldKey) || e.Cancels != 0 {
				return bad("entry %d is not a valid rotation", i)
			}
			if prev.Kind == EntryRotate && e.Time < prev.Time+window-slack {
				return bad("entry %d rotates while rotation %d could still be cancelled", i, prev.Seq)
			}
			if verify(e.OldKey, msg, e.Signature) != nil || verify(e.NewKey, msg, e.NewKeySignature) != nil {
				return bad("entry %d: rotation signatures do not verify", i)
			}
		case EntryCancel:
			if prev.Kind != EntryRotate || e.Cancels != prev.Seq || !bytes.Equal(e.OldKey, prev.NewKey) || !bytes.Equal(e.NewKey, prev.OldKey) {
				return bad("entry %d does not cancel the rotation before it", i)
			}
			if e.Time > prev.Time+window+slack {
				return bad("entry %d cancels rotation %d after its window", i, prev.Seq)
			}
			if len(e.NewKeySignature) != 0 || verify(e.NewKey, msg, e.Signature) != nil {
				return bad("entry %d: cancellation signature does not verify", i)
			}
		default:
			return bad("entry %d has kind %q", i, e.Kind)
		}
		cur = e.NewKey
	}
	return cur, nil
}

// TOTPCredential is an identity's TOTP second factor. The secret is stored
// encrypted (SecretSealed); it is unconfirmed until the first code is
// checked.
type TOTPCredential struct {
	Fingerprint  string
	SecretSealed []byte    // AES-256-GCM under the server's data key: nonce ‖ ciphertext ‖ tag
	LastStep     int64     // the last accepted time step; a code is accepted only for a later step
	CreatedAt    time.Time // enrolment
	ConfirmedAt  time.Time // zero until confirmed
}

// Confirmed reports whether the credential is confirmed (TOTP is on).
func (c TOTPCredential) Confirmed() bool { return !c.ConfirmedAt.IsZero() }

// Blob is an identity's blob: opaque bytes (the client's encrypted key
// backup) with its entity tag.
type Blob struct {
	Fingerprint string
	Content     []byte
	ETag        string // hex SHA-256 of Content, unquoted
	UpdatedAt   time.Time
}

// ChainState is what an append to a chain decides on: the identity (with its
// current key) and its last entry (nil when only the genesis exists).
type ChainState struct {
	Identity Identity
	Last     *ChainEntry
}

// ChainAppend is what an append to a chain writes: the entry, and the reason
// with which every live session of the identity is revoked (none if empty).
type ChainAppend struct {
	Entry  ChainEntry
	Revoke RevocationReason
}

// LifecycleStore persists the identity lifecycle. It is embedded in Store;
// the same rules apply (atomic single-use consumption, *Error codes).
type LifecycleStore interface {
	// PutTOTP stores an unconfirmed credential, replacing an unconfirmed
	// one. CodeConflict if a confirmed one exists; CodeNotFound if the
	// identity is unknown.
	PutTOTP(ctx context.Context, c TOTPCredential) error
	// GetTOTP returns the identity's credential. CodeNotFound if none.
	GetTOTP(ctx context.Context, fingerprint string) (TOTPCredential, error)
	// ConfirmTOTP confirms an unconfirmed credential at time at, records
	// step as its last accepted step and replaces its recovery codes by
	// recoveryHashes, in one transaction. CodeNotFound if there is no
	// unconfirmed credential; CodeConflict if step is not after LastStep.
	ConfirmTOTP(ctx context.Context, fingerprint string, step int64, recoveryHashes [][]byte, at time.Time) error
	// UseTOTPStep consumes a step of a confirmed credential: it succeeds
	// only if step is after LastStep, which it then becomes; of two
	// concurrent uses of one step at most one succeeds. CodeConflict for
	// a step not after LastStep; CodeNotFound if no confirmed credential.
	UseTOTPStep(ctx context.Context, fingerprint string, step int64) error
	// UseRecoveryCode marks the unused recovery code with this hash used.
	// CodeNotFound if unknown or used already.
	UseRecoveryCode(ctx context.Context, fingerprint string, hash []byte, at time.Time) error
	// RecoveryCodesLeft counts the identity's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, fingerprint string) (int, error)
	// DeleteTOTP deletes the credential and its recovery codes.
	// CodeNotFound if there is no credential.
	DeleteTOTP(ctx context.Context, fingerprint string) error

	// GetBlob returns the identity's blob. CodeNotFound if none.
	GetBlob(ctx context.Context, fingerprint string) (Blob, error)
	// PutBlob writes b if the stored blob's ETag is ifMatch ("*" for any
	// existing blob), or, with ifMatch "", only if no blob exists — a
	// compare-and-swap: of two writers with the same ifMatch at most one
	// succeeds. CodeConflict if the precondition fails; CodeNotFound if
	// the identity is unknown or (ifMatch not "") there is no blob.
	PutBlob(ctx context.Context, b Blob, ifMatch string) error

	// ListChain returns the identity's chain entries after the genesis, in
	// order (the genesis follows from the identity). CodeNotFound if the
	// identity is unknown.
	ListChain(ctx context.Context, fingerprint string) ([]ChainEntry, error)
	// AppendChainEntry runs decide in one transaction on the identity and
	// its last entry, then appends the entry decide returned, makes its
	// NewKey the identity's current key, revokes every live session of the
	// identity at the entry's AcceptedAt with the reason decide returned
	// (none if empty), and commits. It returns the ids of the sessions it
	// revoked. If decide returns an error nothing is written and that error
	// is returned. CodeNotFound if the identity is unknown (decide is not
	// called); CodeConflict if an entry with that Seq exists. decide must
	// not call back into the store.
	AppendChainEntry(ctx context.Context, fingerprint string, decide func(ChainState) (ChainAppend, error)) (revoked []string, err error)
}

// TOTPEnrolment is the answer of POST /v1/me/totp: a new secret to put in
// an authenticator app, unconfirmed until POST /v1/me/totp/confirm.
type TOTPEnrolment struct {
	Secret    string `json:"secret"`    // base32 without padding
	URI       string `json:"uri"`       // otpauth://totp/… for a QR code
	Issuer    string `json:"issuer"`    // as shown in the app
	Algorithm string `json:"algorithm"` // "SHA1"
	Digits    int    `json:"digits"`    // 6
	Period    int    `json:"period"`    // seconds, 30
}

// TOTPConfirmRequest turns TOTP on (POST /v1/me/totp/confirm): the
// authenticator's current code, and the identity key's signature over
// TOTPConfirmMessage for the enrolled secret.
type TOTPConfirmRequest struct {
	Code      string `json:"code"`
	Signature Bytes  `json:"signature"`
}

// TOTPCodeRequest carries, for DELETE /v1/me/totp, either a TOTP code or a
// recovery code.
type TOTPCodeRequest struct {
	Code         string `json:"code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// TOTPConfirmation is the answer of POST /v1/me/totp/confirm: TOTP is on,
// and these single-use recovery codes (shown once, stored only hashed) each
// stand in for a TOTP code at one login.
type TOTPConfirmation struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// RotationRequest rotates an identity's key (POST
// /v1/identities/{fp}/rotations): the fields of RotationMessage, and the
// signatures of both keys over it.
type RotationRequest struct {
	Seq          uint64 `json:"seq"`
	Prev         Bytes  `json:"prev"`
	OldKey       Bytes  `json:"old_key"`
	NewKey       Bytes  `json:"new_key"`
	Time         int64  `json:"time"` // Unix seconds
	OldSignature Bytes  `json:"old_signature"`
	NewSignature Bytes  `json:"new_signature"`
}

// CancelRequest cancels rotation {seq} (POST
// /v1/identities/{fp}/rotations/{seq}/cancel): the new entry's fields of
// CancelMessage and the signature of the key the rotation replaced.
type CancelRequest struct {
	Seq       uint64 `json:"seq"` // the cancellation's own sequence number
	Prev      Bytes  `json:"prev"`
	Time      int64  `json:"time"` // Unix seconds
	Signature Bytes  `json:"signature"`
}

// BlobInfo is the answer of PUT /v1/identities/{fp}/blob.
type BlobInfo struct {
	ETag      string    `json:"etag"` // quoted, as in the ETag header
	Size      int       `json:"size"` // bytes
	UpdatedAt time.Time `json:"updated_at"`
}
