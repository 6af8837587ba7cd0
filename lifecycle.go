package chusme

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Identity lifecycle: TOTP second factor, the identity blob (the client's
// encrypted key backup) and the identity chain (genesis, key rotations and
// their cancellations, recovery keys, device additions and removals,
// hash-linked).
//
// The chain of an identity is a list of entries numbered from 0. Entry 0,
// the genesis, holds the genesis key (its SHA-256 is the fingerprint). Every
// later entry is a rotation, signed by both the key it replaces and the new
// key, the cancellation of a pending entry right before it, a change of
// recovery keys, a recovery rotation, or a device addition or removal
// (docs/protocol.md §6). Each entry names the hash of the one before, so
// the current keys follow from the fingerprint and the chain alone (see
// VerifyChain and VerifyChainKeys).

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
	CodeNotRecoveryKey       = "not_recovery_key"      // a recovery statement's signer is not one of the identity's recovery keys
	CodeOutranked            = "outranked"             // the chain's pending last entry was signed by a key that outranks this statement's
	CodeKeyRotated           = "key_rotated"           // a login with a key the identity's chain replaced
	CodeNotDeviceKey         = "not_device_key"        // a device statement's signer or key is not one of the identity's current device keys
	CodeTooManyDevices       = "too_many_devices"      // an identity has MaxDevices device keys already
	CodeLastDevice           = "last_device"           // the identity's only device key can't be removed
	CodeJoinExpired          = "join_expired"          // a device join request is older than DeviceJoinValidity (or from the future)
)

// Chain entry kinds.
const (
	EntryGenesis = "genesis"
	EntryRotate  = "rotate"
	EntryCancel  = "cancel"
	// EntryRecoveryKeys registers, replaces or removes the recovery keys.
	EntryRecoveryKeys = "recovery_keys"
	// EntryRecover rotates the device key by a recovery key's signature.
	EntryRecover = "recover"
	// EntryDeviceAdd adds a device key, signed by a current device key
	// and (over its join request) by the new key.
	EntryDeviceAdd = "device_add"
	// EntryDeviceRemove removes a device key, signed by a current device
	// key (the removed one too) or a recovery key.
	EntryDeviceRemove = "device_remove"
)

// MaxDevices is how many device keys an identity may have at once.
const MaxDevices = 8

// DeviceJoinValidity is how long a device's join request (its signature
// over DeviceJoinMessage) may be used after its time: 24 hours. The request
// is carried by hand from the new machine to an existing device, which
// takes longer than MaxStatementSkew; the add entry itself is fresh.
const DeviceJoinValidity = 24 * time.Hour

// MaxRecoveryKeys is how many recovery keys an identity may have.
const MaxRecoveryKeys = 3

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
	Kind string `json:"kind"` // EntryGenesis, EntryRotate, EntryCancel, EntryRecoveryKeys, EntryRecover, EntryDeviceAdd or EntryDeviceRemove
	// Prev is the hash of entry Seq-1; empty for the genesis.
	Prev Bytes `json:"prev,omitempty"`
	// OldKey is the key the entry replaces: for a rotation the device key
	// it replaces, for a device removal the removed key, for a
	// cancellation the cancelled entry's NewKey. Empty for the genesis and
	// a device addition.
	OldKey Bytes `json:"old_key,omitempty"`
	// NewKey is the key the entry brings: the genesis key, the rotation's
	// new key, the added device key, or the key a cancellation restores
	// (the cancelled entry's OldKey). Empty for a device removal.
	NewKey Bytes `json:"new_key"`
	// Cancels is, for a cancellation, the Seq of the rotation it cancels.
	Cancels uint64 `json:"cancels,omitempty"`
	// Time is the statement's time in Unix seconds, as signed; for the
	// genesis the registration time (not covered by the hash).
	Time int64 `json:"time"`
	// Signature is by OldKey for a rotation and by NewKey (the restored
	// key) for a cancellation, by Signer where it is set; empty for the
	// genesis.
	Signature Bytes `json:"signature,omitempty"`
	// NewKeySignature is a rotation's (or recovery rotation's) signature
	// by NewKey; for a device addition the new key's signature over its
	// join request (DeviceJoinMessage).
	NewKeySignature Bytes `json:"new_key_signature,omitempty"`
	// JoinTime is a device addition's join request time in Unix seconds,
	// as the new key signed it.
	JoinTime int64 `json:"join_time,omitempty"`
	// Signer is the key that made Signature when it is not implied: the
	// recovery key of a recovery rotation or of a cancellation by a
	// recovery key, the device or recovery key of a recovery-keys entry,
	// the device (or recovery) key of a device addition or removal.
	Signer Bytes `json:"signer,omitempty"`
	// RecoveryKeys is a recovery-keys entry's new list of recovery keys,
	// in priority order (the first outranks the others).
	RecoveryKeys []Bytes `json:"recovery_keys,omitempty"`
	// KeySignatures holds, for each of RecoveryKeys, its signature over
	// the statement if the entry adds it (proof of possession), empty if
	// the key was registered already.
	KeySignatures []Bytes `json:"key_signatures,omitempty"`
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

// RecoveryKeysMessage is what the signer (the current device key or a
// recovery key) and every recovery key added sign to set an identity's
// recovery keys: the label, the issuer, the fingerprint, the new entry's
// sequence number, the previous entry's hash, the signer, the device key,
// the number of recovery keys, each key in priority order, and the time in
// Unix seconds.
func RecoveryKeysMessage(issuer, fp string, seq uint64, prev, signer, deviceKey []byte, recoveryKeys []Bytes, unixTime int64) []byte {
	fields := [][]byte{[]byte(issuer), []byte(fp), u64(seq), prev, signer, deviceKey, u64(uint64(len(recoveryKeys)))}
	for _, k := range recoveryKeys {
		fields = append(fields, k)
	}
	return signedMessage(LabelRecoveryKeys, append(fields, i64(unixTime))...)
}

// RecoverMessage is what a recovery key and the new device key sign to
// rotate an identity's device key by recovery: the label, the issuer, the
// fingerprint, the new entry's sequence number, the previous entry's hash,
// the recovery key, the device key replaced, the new device key and the
// time in Unix seconds.
func RecoverMessage(issuer, fp string, seq uint64, prev, signer, oldKey, newKey []byte, unixTime int64) []byte {
	return signedMessage(LabelRecover, []byte(issuer), []byte(fp), u64(seq), prev, signer, oldKey, newKey, i64(unixTime))
}

// RecoveryCancelMessage is what a recovery key signs to cancel the chain's
// pending last entry: CancelMessage's fields with the signer after the
// cancelled entry's sequence number, under its own label.
func RecoveryCancelMessage(issuer, fp string, seq, cancels uint64, prev, signer, dropped, restored []byte, unixTime int64) []byte {
	return signedMessage(LabelRecoveryCancel, []byte(issuer), []byte(fp), u64(seq), prev, u64(cancels), signer, dropped, restored, i64(unixTime))
}

// DeviceJoinMessage is what a new device key signs to ask to join an
// identity (proof of possession, carried to an existing device): the
// label, the issuer, the fingerprint, the new key and the request's time
// in Unix seconds.
func DeviceJoinMessage(issuer, fp string, newKey []byte, joinTime int64) []byte {
	return signedMessage(LabelDeviceJoin, []byte(issuer), []byte(fp), newKey, i64(joinTime))
}

// DeviceAddMessage is what a current device key signs to add a device: the
// label, the issuer, the fingerprint, the new entry's sequence number, the
// previous entry's hash, the signer, the new device key, the join
// request's time and the time in Unix seconds.
func DeviceAddMessage(issuer, fp string, seq uint64, prev, signer, newKey []byte, joinTime, unixTime int64) []byte {
	return signedMessage(LabelDeviceAdd, []byte(issuer), []byte(fp), u64(seq), prev, signer, newKey, i64(joinTime), i64(unixTime))
}

// DeviceRemoveMessage is what a current device key or a recovery key signs
// to remove a device key: the label, the issuer, the fingerprint, the new
// entry's sequence number, the previous entry's hash, the signer, the key
// removed and the time in Unix seconds.
func DeviceRemoveMessage(issuer, fp string, seq uint64, prev, signer, removed []byte, unixTime int64) []byte {
	return signedMessage(LabelDeviceRemove, []byte(issuer), []byte(fp), u64(seq), prev, signer, removed, i64(unixTime))
}

// ParseRecoveryStatement reads back a statement a recovery key signs (a
// RecoverMessage, RecoveryKeysMessage, RecoveryCancelMessage or
// DeviceRemoveMessage), so that whoever approves one can see what it does:
// the issuer, the fingerprint and the entry it makes (Kind EntryRecover,
// EntryRecoveryKeys, EntryCancel or EntryDeviceRemove, without signatures;
// a recovery-keys entry's device key is NewKey). Anything else is refused, as is a text that the statement's
// builder would not produce byte for byte.
func ParseRecoveryStatement(msg []byte) (issuer, fp string, e ChainEntry, err error) {
	label, rest, ok := bytes.Cut(bytes.Clone(msg), []byte{0})
	var f [][]byte
	for ok && len(rest) > 0 {
		if len(rest) < 4 || uint64(len(rest)-4) < uint64(binary.BigEndian.Uint32(rest)) {
			ok = false
			break
		}
		n := 4 + int(binary.BigEndian.Uint32(rest))
		f, rest = append(f, rest[4:n]), rest[n:]
	}
	num := func(b []byte) uint64 {
		if len(b) != 8 {
			ok = false
			return 0
		}
		return binary.BigEndian.Uint64(b)
	}
	switch string(label) {
	case LabelRecover:
		if ok = ok && len(f) == 8; ok {
			e = ChainEntry{Kind: EntryRecover, Seq: num(f[2]), Prev: f[3], Signer: f[4], OldKey: f[5], NewKey: f[6], Time: int64(num(f[7]))}
		}
	case LabelRecoveryCancel:
		if ok = ok && len(f) == 9; ok {
			e = ChainEntry{Kind: EntryCancel, Seq: num(f[2]), Prev: f[3], Cancels: num(f[4]), Signer: f[5], OldKey: f[6], NewKey: f[7], Time: int64(num(f[8]))}
		}
	case LabelDeviceRemove:
		if ok = ok && len(f) == 7; ok {
			e = ChainEntry{Kind: EntryDeviceRemove, Seq: num(f[2]), Prev: f[3], Signer: f[4], OldKey: f[5], Time: int64(num(f[6]))}
		}
	case LabelRecoveryKeys:
		if ok = ok && len(f) >= 8 && num(f[6]) == uint64(len(f)-8); ok {
			e = ChainEntry{Kind: EntryRecoveryKeys, Seq: num(f[2]), Prev: f[3], Signer: f[4], NewKey: f[5], Time: int64(num(f[len(f)-1]))}
			for _, k := range f[7 : len(f)-1] {
				e.RecoveryKeys = append(e.RecoveryKeys, k)
			}
		}
	default:
		ok = false
	}
	if !ok || !bytes.Equal(e.Statement(string(f[0]), string(f[1])), msg) { // f has 7 or more fields when ok
		return "", "", ChainEntry{}, Errorf(CodeInvalidRequest, "not a recovery statement (%s, %s, %s or %s)", LabelRecover, LabelRecoveryKeys, LabelRecoveryCancel, LabelDeviceRemove)
	}
	return string(f[0]), string(f[1]), e, nil
}

// Statement returns the bytes the entry's signatures are over (for the
// genesis, its content: the fingerprint and the genesis key).
func (e ChainEntry) Statement(issuer, fp string) []byte {
	switch e.Kind {
	case EntryRotate:
		return RotationMessage(issuer, fp, e.Seq, e.Prev, e.OldKey, e.NewKey, e.Time)
	case EntryCancel:
		if len(e.Signer) != 0 {
			return RecoveryCancelMessage(issuer, fp, e.Seq, e.Cancels, e.Prev, e.Signer, e.OldKey, e.NewKey, e.Time)
		}
		return CancelMessage(issuer, fp, e.Seq, e.Cancels, e.Prev, e.OldKey, e.NewKey, e.Time)
	case EntryRecover:
		return RecoverMessage(issuer, fp, e.Seq, e.Prev, e.Signer, e.OldKey, e.NewKey, e.Time)
	case EntryRecoveryKeys:
		return RecoveryKeysMessage(issuer, fp, e.Seq, e.Prev, e.Signer, e.NewKey, e.RecoveryKeys, e.Time)
	case EntryDeviceAdd:
		return DeviceAddMessage(issuer, fp, e.Seq, e.Prev, e.Signer, e.NewKey, e.JoinTime, e.Time)
	case EntryDeviceRemove:
		return DeviceRemoveMessage(issuer, fp, e.Seq, e.Prev, e.Signer, e.OldKey, e.Time)
	default:
		return signedMessage(LabelChainGenesis, []byte(fp), e.NewKey)
	}
}

// EntryHash returns the hash that links the next entry to e: SHA-256 over
// the entry label, the kind, the statement and both signatures, then (a
// recovery-keys entry only) each of KeySignatures.
func EntryHash(issuer, fp string, e ChainEntry) []byte {
	fields := [][]byte{[]byte(e.Kind), e.Statement(issuer, fp), e.Signature, e.NewKeySignature}
	if e.Kind == EntryRecoveryKeys {
		for _, sig := range e.KeySignatures {
			fields = append(fields, sig)
		}
	}
	h := sha256.Sum256(signedMessage(LabelChainEntry, fields...))
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

// ChainKeys are the keys of an identity after a chain entry: the device
// keys (1..MaxDevices, each logs in; the first is the identity's primary
// key, Identity.PublicKey) and the recovery keys in priority order.
type ChainKeys struct {
	Devices  []Bytes
	Recovery []Bytes
}

// rank returns the priority of key among k's keys: 0 for a device key,
// MaxRecoveryKeys for the first recovery key, one less for each later one,
// and -1 for a key that is none of them.
func (k ChainKeys) rank(key []byte) int {
	for i, r := range k.Recovery {
		if bytes.Equal(r, key) {
			return MaxRecoveryKeys - i
		}
	}
	if k.IsDevice(key) {
		return 0
	}
	return -1
}

// IsDevice reports whether key is one of k's device keys.
func (k ChainKeys) IsDevice(key []byte) bool {
	return slices.ContainsFunc(k.Devices, func(d Bytes) bool { return bytes.Equal(d, key) })
}

// replaceDevice returns k's device keys with old replaced by repl (dropped
// if repl is nil), in place of old.
func (k ChainKeys) replaceDevice(old, repl []byte) []Bytes {
	out := make([]Bytes, 0, len(k.Devices))
	for _, d := range k.Devices {
		switch {
		case !bytes.Equal(d, old):
			out = append(out, d)
		case repl != nil:
			out = append(out, repl)
		}
	}
	return out
}

// pendable reports whether entry i of the walk is pending for
// RotationCancelWindow after it: a rotation, a recovery rotation, and a
// change of recovery keys unless it only appends keys (which takes nothing
// from the keys there: they keep their ranks), and a device removal by a
// recovery key. The genesis, a cancellation, and a device addition or
// removal by a device key never are: a device key can't take anything a
// recovery key can't take back at any time (it removes a device, or
// recovers to one new device).
func (w *chainWalk) pendable(i int) bool {
	switch e := w.entries[i]; e.Kind {
	case EntryRotate, EntryRecover:
		return true
	case EntryDeviceRemove:
		return w.ranks[i] > 0
	case EntryRecoveryKeys:
		before := w.keys[i-1].Recovery
		return len(e.RecoveryKeys) <= len(before) || !slices.EqualFunc(before, e.RecoveryKeys[:len(before)], bytesEqual)
	}
	return false
}

func bytesEqual(a, b Bytes) bool { return bytes.Equal(a, b) }

// chainWalk folds a chain entry by entry: the keys after each entry and the
// rank of the key that signed it. It is the one home of the chain's rules,
// used by VerifyChain (offline, judging time by the signed times) and by the
// server (CheckChainAppend, judging it by the acceptance times).
type chainWalk struct {
	issuer, fp string
	checkKey   func([]byte) error
	verify     ChainVerifier
	entries    []ChainEntry
	keys       []ChainKeys // keys[i]: after entries[i]
	ranks      []int       // ranks[i]: the rank of entries[i]'s signer
}

// chainTiming says whether entry h may still have been pending (within its
// window) and whether it may have been past it when next was made.
type chainTiming func(h, next ChainEntry) (mayPending, mayFinal bool)

// signedTiming judges by the signed times, with twice MaxStatementSkew of
// slack either side (VerifyChain).
func signedTiming(h, next ChainEntry) (bool, bool) {
	slack := int64(2 * MaxStatementSkew / time.Second)
	end := h.Time + int64(RotationCancelWindow/time.Second)
	return next.Time <= end+slack, next.Time >= end-slack
}

// acceptedTiming judges by the server's acceptance times, exactly.
func acceptedTiming(h, next ChainEntry) (bool, bool) {
	p := next.AcceptedAt.Before(h.AcceptedAt.Add(RotationCancelWindow))
	return p, !p
}

// start begins a walk at the genesis entry g.
func startWalk(issuer, fp string, g ChainEntry, checkKey func([]byte) error, verify ChainVerifier) (*chainWalk, error) {
	bad := func(msg string) error { return Errorf(CodeChainConflict, "%s", msg) }
	if g.Kind != EntryGenesis || g.Seq != 0 || len(g.Prev) != 0 || len(g.OldKey) != 0 || len(g.Signature) != 0 ||
		len(g.NewKeySignature) != 0 || len(g.Signer) != 0 || len(g.RecoveryKeys) != 0 || len(g.KeySignatures) != 0 {
		return nil, bad("entry 0 is not a genesis entry")
	}
	if Fingerprint(g.NewKey) != fp {
		return nil, bad("the genesis key does not hash to the fingerprint")
	}
	if err := checkKey(g.NewKey); err != nil {
		return nil, Errorf(CodeChainConflict, "genesis key: %v", err)
	}
	if !bytes.Equal(EntryHash("", fp, g), g.Hash) {
		return nil, bad("entry 0: hash does not match")
	}
	return &chainWalk{issuer: issuer, fp: fp, checkKey: checkKey, verify: verify,
		entries: []ChainEntry{g}, keys: []ChainKeys{{Devices: []Bytes{g.NewKey}}}, ranks: []int{0}}, nil
}

// next judges e as the entry after the walk's last one and, if it is
// allowed, appends it. The error has the code an API answers with.
//
// The rules (docs/protocol.md §6, "Recovery keys"): while the last entry H
// is pending, the keys that judge the next entry are those from before H,
// and only a key that outranks H's signer may act — to cancel H, or (if H
// changed no recovery key) to override it with a recovery rotation; the
// one exception is the device key a device rotation replaced, which may
// cancel it. Once H is final its keys judge, and any of them may act.
func (w *chainWalk) next(e ChainEntry, timing chainTiming) error {
	n := len(w.entries)
	h, cur := w.entries[n-1], w.keys[n-1]
	if e.Seq != uint64(n) || !bytes.Equal(e.Prev, h.Hash) {
		return Errorf(CodeChainConflict, "the entry does not follow the chain's last entry (seq %d)", h.Seq)
	}
	if !bytes.Equal(EntryHash(w.issuer, w.fp, e), e.Hash) {
		return Errorf(CodeChainConflict, "the entry's hash does not match")
	}
	hPendable := w.pendable(n - 1)
	mayPending, mayFinal := false, true
	if hPendable {
		mayPending, mayFinal = timing(h, e)
	}
	var err error
	// A walk tries each reading of H's state that the timing allows
	// (offline, near the window's end, both): the entry stands if one
	// admits it.
	for _, pending := range []bool{true, false} {
		if (pending && !mayPending) || (!pending && !mayFinal) {
			continue
		}
		auth := cur
		if pending {
			auth = w.keys[n-2]
		}
		var keys ChainKeys
		var rank int
		if keys, rank, err = w.judge(e, h, cur, auth, pending, hPendable); err == nil {
			w.entries, w.keys, w.ranks = append(w.entries, e), append(w.keys, keys), append(w.ranks, rank)
			return nil
		}
	}
	return err
}

// judge checks e against head h under one reading: cur are the keys after
// h, auth the keys that judge e (those before h if h is pending). It returns
// the keys after e and the rank of e's signer.
func (w *chainWalk) judge(e, h ChainEntry, cur, auth ChainKeys, pending, hPendable bool) (ChainKeys, int, error) {
	hRank := w.ranks[len(w.ranks)-1]
	until := func() string {
		return h.AcceptedAt.Add(RotationCancelWindow).UTC().Format(time.RFC3339)
	}
	msg := e.Statement(w.issuer, w.fp)
	sigOK := func(key, sig []byte) bool { return w.verify(key, msg, sig) == nil }
	if e.Kind != EntryRecoveryKeys && (len(e.RecoveryKeys) != 0 || len(e.KeySignatures) != 0) {
		return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "only a recovery-keys entry lists recovery keys")
	}
	if e.Kind != EntryCancel && e.Cancels != 0 {
		return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "only a cancellation names a rotation to cancel")
	}
	if e.Kind != EntryDeviceAdd && e.JoinTime != 0 {
		return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "only a device addition has a join time")
	}
	switch e.Kind {
	case EntryDeviceAdd, EntryDeviceRemove:
		return w.judgeDevice(e, h, cur, auth, pending, sigOK, until)
	case EntryRotate, EntryRecover:
		if !cur.IsDevice(e.OldKey) {
			return ChainKeys{}, 0, Errorf(CodeChainConflict, "old_key is not one of the identity's current device keys")
		}
		if err := w.checkKey(e.NewKey); err != nil {
			return ChainKeys{}, 0, Errorf(CodeInvalidPublicKey, "new key: %v", err)
		}
		if cur.rank(e.NewKey) >= 0 {
			return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "the new key is the current key or a recovery key")
		}
		signer, rank := e.OldKey, 0
		if e.Kind == EntryRecover {
			signer, rank = e.Signer, auth.rank(e.Signer)
			if rank <= 0 {
				return ChainKeys{}, 0, notRecoveryKey()
			}
		} else if len(e.Signer) != 0 {
			return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "a device rotation has no signer field: the old key signs")
		}
		if pending && (rank <= hRank || h.Kind == EntryRecoveryKeys) {
			return ChainKeys{}, 0, pendingError(h, hRank, until())
		}
		if !sigOK(signer, e.Signature) || !sigOK(e.NewKey, e.NewKeySignature) {
			return ChainKeys{}, 0, Errorf(CodeInvalidSignature, "the %s needs valid signatures of its signer and of the new key", e.Kind)
		}
		if e.Kind == EntryRecover {
			// A recovery leaves the owner with the new device only.
			return ChainKeys{Devices: []Bytes{e.NewKey}, Recovery: cur.Recovery}, rank, nil
		}
		return ChainKeys{Devices: cur.replaceDevice(e.OldKey, e.NewKey), Recovery: cur.Recovery}, rank, nil
	case EntryRecoveryKeys:
		if !bytes.Equal(e.OldKey, e.NewKey) || !cur.IsDevice(e.NewKey) {
			return ChainKeys{}, 0, Errorf(CodeChainConflict, "old_key and new_key must both be one of the identity's current device keys")
		}
		if len(e.NewKeySignature) != 0 {
			return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "a recovery-keys entry has no new_key_signature")
		}
		rank := auth.rank(e.Signer)
		if rank < 0 {
			return ChainKeys{}, 0, Errorf(CodeNotRecoveryKey, "the signer is neither the current key nor a recovery key")
		}
		if pending {
			return ChainKeys{}, 0, pendingError(h, hRank, until())
		}
		if err := w.checkRecoveryKeys(e, cur, sigOK); err != nil {
			return ChainKeys{}, 0, err
		}
		if !sigOK(e.Signer, e.Signature) {
			return ChainKeys{}, 0, Errorf(CodeInvalidSignature, "the recovery-keys statement needs a valid signature of its signer")
		}
		return ChainKeys{Devices: cur.Devices, Recovery: e.RecoveryKeys}, rank, nil
	case EntryCancel:
		if !hPendable || e.Cancels != h.Seq {
			return ChainKeys{}, 0, Errorf(CodeChainConflict, "entry %d is not the chain's last entry or can't be cancelled: only the last rotation or recovery-keys change can", e.Cancels)
		}
		if !pending {
			return ChainKeys{}, 0, Errorf(CodeRotationFinal, "entry %d is final: its cancel window ended %s", h.Seq, until())
		}
		if !bytes.Equal(e.OldKey, h.NewKey) || !bytes.Equal(e.NewKey, h.OldKey) || len(e.NewKeySignature) != 0 {
			return ChainKeys{}, 0, Errorf(CodeChainConflict, "the cancellation must drop entry %d's new key and restore its old key", h.Seq)
		}
		signer, rank := e.Signer, auth.rank(e.Signer)
		if len(e.Signer) == 0 {
			// The device key a device rotation replaced.
			signer, rank = e.NewKey, hRank
			if h.Kind != EntryRotate {
				return ChainKeys{}, 0, Errorf(CodeOutranked, "entry %d was signed by a recovery key or changes recovery keys: only a recovery key that outranks its signer can cancel it", h.Seq)
			}
		} else if rank <= 0 {
			return ChainKeys{}, 0, notRecoveryKey()
		} else if rank <= hRank {
			return ChainKeys{}, 0, Errorf(CodeOutranked, "entry %d was signed by a key of equal or higher priority than the cancellation's signer", h.Seq)
		}
		if !sigOK(signer, e.Signature) {
			return ChainKeys{}, 0, Errorf(CodeInvalidSignature, "the cancellation needs a valid signature of its signer")
		}
		return auth, rank, nil
	default:
		return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "unknown entry kind %q", e.Kind)
	}
}

// judgeDevice checks a device addition or removal (judge's arguments): an
// addition is signed by a current device key and, over its join request
// (within DeviceJoinValidity before the entry's time), by a key the
// identity never had; a removal of one of several device keys by any
// current device key (the removed one too: a device may retire itself) or
// by a recovery key. A device key acts only once the last entry is final.
func (w *chainWalk) judgeDevice(e, h ChainEntry, cur, auth ChainKeys, pending bool, sigOK func(key, sig []byte) bool, until func() string) (ChainKeys, int, error) {
	hRank := w.ranks[len(w.ranks)-1]
	rank := auth.rank(e.Signer)
	if rank < 0 || (e.Kind == EntryDeviceAdd && rank != 0) {
		return ChainKeys{}, 0, Errorf(CodeNotDeviceKey, "the signer is not a current device key (nor, for a removal, a recovery key)")
	}
	if pending && (rank <= hRank || h.Kind == EntryRecoveryKeys) {
		return ChainKeys{}, 0, pendingError(h, hRank, until())
	}
	if e.Kind == EntryDeviceAdd {
		if len(e.OldKey) != 0 {
			return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "a device addition has no old_key")
		}
		if err := w.checkKey(e.NewKey); err != nil {
			return ChainKeys{}, 0, Errorf(CodeInvalidPublicKey, "new key: %v", err)
		}
		for _, k := range w.keys {
			if k.rank(e.NewKey) >= 0 {
				return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "the new device key is, or was, a key of this identity")
			}
		}
		if len(cur.Devices) >= MaxDevices {
			return ChainKeys{}, 0, Errorf(CodeTooManyDevices, "the identity has %d device keys already: remove one first", MaxDevices)
		}
		if d := e.Time - e.JoinTime; d < -int64(MaxStatementSkew/time.Second) || d > int64(DeviceJoinValidity/time.Second) {
			return ChainKeys{}, 0, Errorf(CodeJoinExpired, "the join request's time is not within %s before the entry's", DeviceJoinValidity)
		}
		if !sigOK(e.Signer, e.Signature) || w.verify(e.NewKey, DeviceJoinMessage(w.issuer, w.fp, e.NewKey, e.JoinTime), e.NewKeySignature) != nil {
			return ChainKeys{}, 0, Errorf(CodeInvalidSignature, "the device addition needs valid signatures of its signer and (over the join request) of the new key")
		}
		return ChainKeys{Devices: append(slices.Clone(cur.Devices), e.NewKey), Recovery: cur.Recovery}, rank, nil
	}
	if len(e.NewKey) != 0 || len(e.NewKeySignature) != 0 {
		return ChainKeys{}, 0, Errorf(CodeInvalidRequest, "a device removal has no new_key or new_key_signature")
	}
	if !cur.IsDevice(e.OldKey) {
		return ChainKeys{}, 0, Errorf(CodeNotDeviceKey, "old_key is not one of the identity's current device keys")
	}
	if len(cur.Devices) == 1 {
		return ChainKeys{}, 0, Errorf(CodeLastDevice, "the identity's only device key can't be removed: rotate it, or recover")
	}
	if !sigOK(e.Signer, e.Signature) {
		return ChainKeys{}, 0, Errorf(CodeInvalidSignature, "the device removal needs a valid signature of its signer")
	}
	return ChainKeys{Devices: cur.replaceDevice(e.OldKey, nil), Recovery: cur.Recovery}, rank, nil
}

func notRecoveryKey() error {
	return Errorf(CodeNotRecoveryKey, "the signer is not one of the identity's recovery keys")
}

// pendingError refuses an entry while h is pending and outranks it.
func pendingError(h ChainEntry, hRank int, until string) error {
	if hRank > 0 {
		return Errorf(CodeOutranked, "entry %d was signed by a recovery key and can be cancelled by a higher one until %s: no other change until then", h.Seq, until)
	}
	return Errorf(CodeRotationPending, "entry %d can be cancelled until %s: cancel it, override it with a recovery key, or wait", h.Seq, until)
}

// checkRecoveryKeys checks a recovery-keys entry's list against the current
// keys: at most MaxRecoveryKeys valid, distinct keys, none the device key,
// each added one with its signature over the statement (proof of
// possession), each kept one with none.
func (w *chainWalk) checkRecoveryKeys(e ChainEntry, cur ChainKeys, sigOK func(key, sig []byte) bool) error {
	if len(e.RecoveryKeys) > MaxRecoveryKeys || len(e.KeySignatures) != len(e.RecoveryKeys) {
		return Errorf(CodeInvalidRequest, "at most %d recovery keys, each with a key_signatures entry", MaxRecoveryKeys)
	}
	for i, k := range e.RecoveryKeys {
		if err := w.checkKey(k); err != nil {
			return Errorf(CodeInvalidPublicKey, "recovery key %d: %v", i+1, err)
		}
		if cur.IsDevice(k) || slices.ContainsFunc(e.RecoveryKeys[:i], func(o Bytes) bool { return bytes.Equal(o, k) }) {
			return Errorf(CodeInvalidRequest, "recovery key %d is the device key or listed twice", i+1)
		}
		kept := cur.rank(k) > 0
		if kept && len(e.KeySignatures[i]) != 0 {
			return Errorf(CodeInvalidRequest, "recovery key %d is kept: its key_signatures entry must be empty", i+1)
		}
		if !kept && !sigOK(k, e.KeySignatures[i]) {
			return Errorf(CodeInvalidSignature, "recovery key %d is added: it must sign the statement", i+1)
		}
	}
	return nil
}

// VerifyChain checks a chain offline from the fingerprint alone and returns
// the current key (the first device key; VerifyChainKeys returns them all). checkKey checks a public key strictly, verify a
// signature (keys.CheckPublicKey and keys.Verify). It refuses a chain whose
// genesis key does not hash to fp, whose entries are out of order, missing,
// altered or badly signed, or break a rule of docs/protocol.md §6 (the
// server's rules, judged on the signed times with MaxStatementSkew of slack
// on either side).
func VerifyChain(issuer, fp string, entries []ChainEntry, checkKey func([]byte) error, verify ChainVerifier) ([]byte, error) {
	k, err := VerifyChainKeys(issuer, fp, entries, checkKey, verify)
	if err != nil {
		return nil, err
	}
	return k.Devices[0], nil
}

// VerifyChainKeys is VerifyChain returning every current key: the device
// keys and the recovery keys.
func VerifyChainKeys(issuer, fp string, entries []ChainEntry, checkKey func([]byte) error, verify ChainVerifier) (ChainKeys, error) {
	if len(entries) == 0 {
		return ChainKeys{}, Errorf(CodeChainConflict, "chain: no genesis entry")
	}
	w, err := startWalk(issuer, fp, entries[0], checkKey, verify)
	if err != nil {
		return ChainKeys{}, Errorf(CodeChainConflict, "chain: %s", ErrorMessage(err))
	}
	for i, e := range entries[1:] {
		if err := w.next(e, signedTiming); err != nil {
			return ChainKeys{}, Errorf(CodeChainConflict, "chain: entry %d: %s", i+1, ErrorMessage(err))
		}
	}
	return w.keys[len(w.keys)-1], nil
}

// CheckChainAppend is the server's rule for appending next to an identity's
// chain (genesis first): the stored chain is walked again and next judged
// with the rules VerifyChain applies, time judged by the acceptance times
// (next.AcceptedAt is now). It returns the keys after next; the error
// carries the code to answer with.
func CheckChainAppend(issuer, fp string, chain []ChainEntry, next ChainEntry, checkKey func([]byte) error, verify ChainVerifier) (ChainKeys, error) {
	w, err := startWalk(issuer, fp, chain[0], checkKey, verify)
	if err != nil {
		return ChainKeys{}, err
	}
	for _, e := range chain[1:] {
		if err := w.next(e, acceptedTiming); err != nil {
			return ChainKeys{}, fmt.Errorf("stored chain entry %d: %w", e.Seq, err)
		}
	}
	if err := w.next(next, acceptedTiming); err != nil {
		return ChainKeys{}, err
	}
	return w.keys[len(w.keys)-1], nil
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
// current key), its entries after the genesis, in order, and the last of
// them (nil when only the genesis exists).
type ChainState struct {
	Identity Identity
	Chain    []ChainEntry
	Last     *ChainEntry
}

// ChainAppend is what an append to a chain writes: the entry, the device
// keys after it (the first becomes the identity's PublicKey), and the
// reason with which the identity's live sessions are revoked (none if
// empty): every one, or with RevokeDevice only those that device key made
// (and those that recorded no device key).
type ChainAppend struct {
	Entry        ChainEntry
	Devices      []Bytes
	Revoke       RevocationReason
	RevokeDevice Bytes
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
	// its chain, then appends the entry decide returned, makes its
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

// CancelRequest cancels entry {seq} (POST
// /v1/identities/{fp}/rotations/{seq}/cancel): the new entry's fields of
// CancelMessage and the signature of the key the rotation replaced, or,
// with Signer, RecoveryCancelMessage's and the signature of that recovery
// key.
type CancelRequest struct {
	Seq       uint64 `json:"seq"` // the cancellation's own sequence number
	Prev      Bytes  `json:"prev"`
	Time      int64  `json:"time"` // Unix seconds
	Signer    Bytes  `json:"signer,omitempty"`
	Signature Bytes  `json:"signature"`
}

// RecoverRequest rotates an identity's device key by a recovery key (POST
// /v1/identities/{fp}/recoveries): the fields of RecoverMessage and the
// signatures of the recovery key (Signer) and the new key over it.
type RecoverRequest struct {
	Seq          uint64 `json:"seq"`
	Prev         Bytes  `json:"prev"`
	Signer       Bytes  `json:"signer"`
	OldKey       Bytes  `json:"old_key"`
	NewKey       Bytes  `json:"new_key"`
	Time         int64  `json:"time"` // Unix seconds
	Signature    Bytes  `json:"signature"`
	NewSignature Bytes  `json:"new_signature"`
}

// RecoveryKeysRequest sets an identity's recovery keys (POST
// /v1/identities/{fp}/recovery-keys): the fields of RecoveryKeysMessage,
// the signer's signature over it and, for each recovery key, its own
// signature if the request adds it (empty for a key kept).
type RecoveryKeysRequest struct {
	Seq           uint64  `json:"seq"`
	Prev          Bytes   `json:"prev"`
	Signer        Bytes   `json:"signer"`
	DeviceKey     Bytes   `json:"device_key"`
	RecoveryKeys  []Bytes `json:"recovery_keys"`
	Time          int64   `json:"time"` // Unix seconds
	Signature     Bytes   `json:"signature"`
	KeySignatures []Bytes `json:"key_signatures"`
}

// BlobInfo is the answer of PUT /v1/identities/{fp}/blob.
type BlobInfo struct {
	ETag      string    `json:"etag"` // quoted, as in the ETag header
	Size      int       `json:"size"` // bytes
	UpdatedAt time.Time `json:"updated_at"`
}

// DeviceJoinRequest is a new machine's request to join identity
// Fingerprint as a device (chusme devices join): its key, the time and the
// key's signature over DeviceJoinMessage. It travels by hand to an existing
// device, which sends it in a DeviceAddRequest.
type DeviceJoinRequest struct {
	Fingerprint string `json:"fingerprint"`
	Key         Bytes  `json:"key"`
	Time        int64  `json:"time"` // Unix seconds
	Signature   Bytes  `json:"signature"`
}

// DeviceAddRequest adds a device key (POST /v1/identities/{fp}/devices):
// the fields of DeviceAddMessage, the signer's signature over it and the
// new key's join request signature (DeviceJoinMessage at JoinTime).
type DeviceAddRequest struct {
	Seq           uint64 `json:"seq"`
	Prev          Bytes  `json:"prev"`
	Signer        Bytes  `json:"signer"`
	NewKey        Bytes  `json:"new_key"`
	JoinTime      int64  `json:"join_time"` // Unix seconds
	Time          int64  `json:"time"`      // Unix seconds
	Signature     Bytes  `json:"signature"`
	JoinSignature Bytes  `json:"join_signature"`
}

// DeviceRemoveRequest removes a device key (POST
// /v1/identities/{fp}/devices/remove): the fields of DeviceRemoveMessage and
// the signer's signature over it.
type DeviceRemoveRequest struct {
	Seq       uint64 `json:"seq"`
	Prev      Bytes  `json:"prev"`
	Signer    Bytes  `json:"signer"`
	Key       Bytes  `json:"key"`  // the device key removed
	Time      int64  `json:"time"` // Unix seconds
	Signature Bytes  `json:"signature"`
}
