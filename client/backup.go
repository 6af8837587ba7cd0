package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/keys"
	"github.com/chusme/chusme/strictjson"
)

// BackupPurpose is the vault purpose of an identity backup: the key a
// passphrase yields for it is never the key of the identity key file.
const BackupPurpose = chusme.VaultPurposeBackup

// BackupVersion is the version of the plaintext SealBackup seals: the
// identity key, the FROST key shares and the keys the identity no longer
// holds a share of. OpenBackup also reads version 1, the identity key
// alone, and version 2, the key and the shares.
const BackupVersion = 3

// Errors of the backup calls.
var (
	// ErrNoBackup means the identity has no blob on the server.
	ErrNoBackup = errors.New("client: the identity has no backup on the server")
	// ErrStaleBackup means the backup opened but holds a key that is no
	// longer the identity's current key (it rotated since).
	ErrStaleBackup = errors.New("client: the backup holds a key that is no longer the identity's current key")
	// ErrKeyReplaced refuses, unchecked, the shares of a backup whose key
	// a pending rotation replaced (RestoredBackup.Pending): the backup's
	// key logs in, and its shares can be checked, once it cancels it.
	ErrKeyReplaced = errors.New("client: not checked: the backup's key was replaced by a rotation it can still cancel")
	// ErrNotHolder means the current generation of a group key, verified
	// (GroupKey), does not name the identity as a holder: a refresh removed
	// it, or a reshare left it out.
	ErrNotHolder = errors.New("client: the identity no longer holds a share of the key")
	// ErrBackupConflict means UpdateBackup found the blob changed since
	// this device wrote it and could not merge it: it is sealed under
	// another backup passphrase, it holds another key than this device's
	// current one, or it changed again meanwhile.
	ErrBackupConflict = errors.New("client: the backup was changed by another device")
)

// Backup is what an identity backup holds: the identity's current key, its
// FROST key shares, without their public key packages (public and
// certified: RestoreBackup fetches them from the server), and the keys it
// no longer holds a share of. A key has a share or a DroppedShare, not
// both. It is secret: Zero it when done.
type Backup struct {
	Fingerprint string             // the identity
	Key         ed25519.PrivateKey // its current key
	Shares      []*sharefile.Share // the identity's shares (PublicKeyPackage unused)
	Dropped     []DroppedShare     // the keys it no longer holds a share of (Drop)
	Version     int                // the plaintext version OpenBackup read (1: the key alone, 2: no Dropped); SealBackup writes BackupVersion
}

// DroppedShare records that the identity holds no share of key KeyID from
// its generation Generation on (at least 2: every DKG participant holds
// generation 1): a reshare it dealt in left it out, or a refresh removed
// it. It keeps an older share of that key out of the backup when another
// device, which still has one, merges it back.
type DroppedShare struct {
	KeyID      string `json:"key_id"`
	Generation int    `json:"generation"`
}

// Drop records in b that the identity no longer holds a share of key
// d.KeyID from generation d.Generation on: b's share of an earlier
// generation of that key is zeroed and leaves b; a share of that
// generation or a later one (the identity was dealt one again) stays, and
// d is not kept.
func (b *Backup) Drop(d DroppedShare) {
	if j := slices.IndexFunc(b.Shares, func(s *sharefile.Share) bool { return s.KeyID == d.KeyID }); j >= 0 {
		if b.Shares[j].Generation >= d.Generation {
			return
		}
		b.Shares[j].Zero()
		b.Shares = slices.Delete(b.Shares, j, j+1)
	}
	b.Dropped = addDropped(b.Dropped, d)
}

// addDropped adds d to list, or raises the generation of list's entry of
// the same key to d's if d's is later.
func addDropped(list []DroppedShare, d DroppedShare) []DroppedShare {
	if i := slices.IndexFunc(list, func(o DroppedShare) bool { return o.KeyID == d.KeyID }); i >= 0 {
		list[i].Generation = max(list[i].Generation, d.Generation)
		return list
	}
	return append(list, d)
}

// droppedFrom returns the generation from which b records that the
// identity holds no share of key keyID, or 0.
func (b *Backup) droppedFrom(keyID string) int {
	if i := slices.IndexFunc(b.Dropped, func(d DroppedShare) bool { return d.KeyID == keyID }); i >= 0 {
		return b.Dropped[i].Generation
	}
	return 0
}

// Zero wipes the key and the shares.
func (b *Backup) Zero() {
	if b == nil {
		return
	}
	clear(b.Key)
	for _, s := range b.Shares {
		s.Zero()
	}
}

// backupPlain is what a backup vault holds (docs/protocol.md, "Backup
// blob").
type backupPlain struct {
	Version     int            `json:"version"`
	Fingerprint string         `json:"fingerprint"` // the identity
	Seed        chusme.Bytes   `json:"seed"`        // the current key's Ed25519 seed
	Shares      []backupShare  `json:"shares"`      // absent in version 1
	Dropped     []DroppedShare `json:"dropped"`     // absent in versions 1 and 2
}

// backupShare is one share in a backup.
type backupShare struct {
	KeyID      string       `json:"key_id"`
	Generation int          `json:"generation"`
	Identity   string       `json:"identity"`
	CeremonyID string       `json:"ceremony_id,omitempty"`
	KeyPackage chusme.Bytes `json:"key_package"` // frost.KeyPackage, MarshalBinary
}

// checkBackupShare checks that s can be in identity fp's backup: its
// identity is fp, its key package is fp's share (its identifier) of the
// group key its key id names, and its generation and ceremony id are valid.
func checkBackupShare(fp string, s *sharefile.Share) error {
	switch {
	case s == nil || s.KeyPackage == nil:
		return errors.New("client: an incomplete share")
	case s.Identity != fp:
		return fmt.Errorf("client: the share of key %s is identity %s's, not %s's", s.KeyID, s.Identity, fp)
	case s.Generation < 1:
		return fmt.Errorf("client: the share of key %s has generation %d (the first is 1)", s.KeyID, s.Generation)
	case s.CeremonyID != "" && !chusme.ValidCeremonyID(s.CeremonyID):
		return fmt.Errorf("client: the share of key %s names an invalid ceremony id", s.KeyID)
	case chusme.GroupKeyID(s.KeyPackage.VerifyingKey().Bytes()) != s.KeyID:
		return fmt.Errorf("client: the share of key %s is of another group key", s.KeyID)
	}
	id, err := frost.DeriveIdentifier([]byte(fp))
	if err != nil {
		return err
	}
	if s.KeyPackage.Identifier() != id {
		return fmt.Errorf("client: the share of key %s is not identity %s's", s.KeyID, fp)
	}
	return nil
}

// checkDropped checks that d can be in a backup.
func checkDropped(d DroppedShare) error {
	switch {
	case !chusme.ValidFingerprint(d.KeyID):
		return fmt.Errorf("client: a dropped share names an invalid key id %q", d.KeyID)
	case d.Generation < 2:
		return fmt.Errorf("client: the dropped share of key %s has generation %d (a key's first generation holds every DKG participant)", d.KeyID, d.Generation)
	}
	return nil
}

// SealBackup seals b under k, a key of purpose BackupPurpose (from the
// backup passphrase: vault.DeriveKey, or the key OpenBackup returned), as
// plaintext version BackupVersion: the key's seed, every share's key id,
// generation, identity, ceremony id and key package, and every dropped
// share's key id and generation, each list sorted by key id, one entry a
// key. The server never sees the passphrase, the key or a share.
func SealBackup(b *Backup, k *vault.Key) ([]byte, error) {
	if k == nil || k.Purpose() != BackupPurpose {
		return nil, fmt.Errorf("client: a backup is sealed under a key of purpose %s", BackupPurpose)
	}
	if err := checkKey(b.Key); err != nil {
		return nil, err
	}
	plain := backupPlain{Version: BackupVersion, Fingerprint: b.Fingerprint, Seed: b.Key.Seed(), Shares: []backupShare{}, Dropped: []DroppedShare{}}
	defer func() {
		for _, s := range plain.Shares {
			clear(s.KeyPackage)
		}
	}()
	for _, s := range b.Shares {
		if err := checkBackupShare(b.Fingerprint, s); err != nil {
			return nil, err
		}
		kp, err := s.KeyPackage.MarshalBinary()
		if err != nil {
			return nil, err
		}
		plain.Shares = append(plain.Shares, backupShare{KeyID: s.KeyID, Generation: s.Generation, Identity: s.Identity, CeremonyID: s.CeremonyID, KeyPackage: kp})
	}
	keys := map[string]bool{}
	for _, s := range plain.Shares {
		if keys[s.KeyID] {
			return nil, fmt.Errorf("client: two shares of key %s", s.KeyID)
		}
		keys[s.KeyID] = true
	}
	for _, d := range b.Dropped {
		if err := checkDropped(d); err != nil {
			return nil, err
		}
		if keys[d.KeyID] {
			return nil, fmt.Errorf("client: key %s is both held and dropped", d.KeyID)
		}
		keys[d.KeyID] = true
		plain.Dropped = append(plain.Dropped, d)
	}
	slices.SortFunc(plain.Shares, func(a, b backupShare) int { return cmp.Compare(a.KeyID, b.KeyID) })
	slices.SortFunc(plain.Dropped, func(a, b DroppedShare) int { return cmp.Compare(a.KeyID, b.KeyID) })
	data, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	return k.Seal(data), nil
}

// OpenBackup opens a backup of identity fp, of plaintext version 1 to 3,
// with the backup passphrase. It returns the backup and the key it is
// sealed under, which seals the next version of the backup under the same
// passphrase (UpdateBackup); the caller Zeroes the one and Wipes the other.
// A wrong passphrase gives vault.ErrDecrypt (wrapped).
func OpenBackup(fp string, sealed, passphrase []byte) (*Backup, *vault.Key, error) {
	k, plain, err := vault.OpenKey(passphrase, BackupPurpose, sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("client: opening the backup: %w", err)
	}
	defer clear(plain)
	b, err := parseBackup(fp, plain)
	if err != nil {
		k.Wipe()
		return nil, nil, err
	}
	return b, k, nil
}

// openBackupWith opens a backup of identity fp sealed under k:
// vault.ErrOtherKey (wrapped) if it is sealed under another key.
func openBackupWith(fp string, sealed []byte, k *vault.Key) (*Backup, error) {
	plain, err := k.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("client: opening the backup: %w", err)
	}
	defer clear(plain)
	return parseBackup(fp, plain)
}

// parseBackup decodes and checks the plaintext of identity fp's backup.
func parseBackup(fp string, plain []byte) (*Backup, error) {
	var p backupPlain
	malformed := errors.New("client: the backup's content is malformed")
	err := strictjson.Decode(plain, &p)
	defer func() {
		clear(p.Seed)
		for _, s := range p.Shares {
			clear(s.KeyPackage)
		}
	}()
	if err != nil || len(p.Seed) != ed25519.SeedSize || p.Version < 1 || p.Version > BackupVersion ||
		(p.Version == 1 && p.Shares != nil) || (p.Version < 3 && p.Dropped != nil) {
		return nil, malformed
	}
	if p.Fingerprint != fp {
		return nil, fmt.Errorf("client: the backup is of identity %s, not %s", p.Fingerprint, fp)
	}
	b := &Backup{Fingerprint: fp, Key: ed25519.NewKeyFromSeed(p.Seed), Version: p.Version}
	for _, bs := range p.Shares {
		kp := new(frost.KeyPackage)
		s := &sharefile.Share{KeyID: bs.KeyID, Generation: bs.Generation, Identity: bs.Identity, CeremonyID: bs.CeremonyID, KeyPackage: kp}
		b.Shares = append(b.Shares, s)
		if err := kp.UnmarshalBinary(bs.KeyPackage); err != nil {
			b.Zero()
			return nil, fmt.Errorf("%w: the share of key %s: %v", malformed, bs.KeyID, err)
		}
		if err := checkBackupShare(fp, s); err != nil {
			b.Zero()
			return nil, fmt.Errorf("%w: %v", malformed, err)
		}
	}
	for _, d := range p.Dropped {
		if err := checkDropped(d); err != nil || b.droppedFrom(d.KeyID) != 0 ||
			slices.ContainsFunc(b.Shares, func(s *sharefile.Share) bool { return s.KeyID == d.KeyID }) {
			b.Zero()
			return nil, fmt.Errorf("%w: the dropped share of key %s", malformed, d.KeyID)
		}
		b.Dropped = append(b.Dropped, d)
	}
	return b, nil
}

// PushBackup writes b as the logged-in identity's blob, sealed under the
// backup passphrase, and returns the new ETag and the key it sealed under
// (the caller Wipes it; UpdateBackup re-seals with it). If the blob there
// opens under prev (the key of the backup passphrase being replaced, or
// nil) or under passphrase, the shares only it holds, or holds in a later
// generation, first join b (see UpdateBackup); under passphrase, the key
// stays the blob's (its salt). Otherwise a new key is derived (a fresh
// salt, Argon2id parameters p, zero for vault.DefaultParams) and the blob
// is replaced.
func (c *Client) PushBackup(ctx context.Context, b *Backup, passphrase []byte, p vault.Params, prev *vault.Key) (string, *vault.Key, error) {
	sealed, etag, err := c.Blob(ctx, b.Fingerprint)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		sealed, etag, err = nil, "", nil
	}
	if err != nil {
		return "", nil, err
	}
	var k *vault.Key
	var theirs *Backup
	if sealed != nil && prev != nil {
		theirs, _ = openBackupWith(b.Fingerprint, sealed, prev)
	}
	if sealed != nil && theirs == nil {
		theirs, k, _ = OpenBackup(b.Fingerprint, sealed, passphrase)
	}
	if k == nil {
		if k, err = vault.DeriveKey(passphrase, BackupPurpose, p); err != nil {
			theirs.Zero()
			return "", nil, err
		}
	}
	if theirs != nil {
		err = c.mergeBackup(ctx, b, theirs)
	}
	if err == nil {
		etag, err = c.UpdateBackup(ctx, b, k, &BackupState{ETag: etag})
	}
	if err != nil {
		k.Wipe()
		return "", nil, err
	}
	return etag, k, nil
}

// UpdateBackup seals b under k (the key PushBackup or OpenBackup returned:
// the same backup passphrase, which it does not need) and writes it over
// the blob this device last wrote, compare-and-swap. held is this device's
// record of that blob (its BackupState; nil if it wrote none): its ETag,
// and the shares and dropped shares the blob holds. If the blob holds a
// share or a dropped share that b does not supersede (another device's,
// merged in before), the blob is read and merged into b first, so an
// update drops no share from the backup that the identity still holds. If
// another device wrote the blob since, it is read and merged as well, and
// written once more. Merging (see Drop) keeps, for each key, the latest
// generation of a share or a dropped share, a share when both are of the
// same generation; a different identity key is kept only if it is the
// identity's current key. It returns the new ETag, or ErrBackupConflict
// (wrapped) if the blob is sealed under another key, holds b's key while
// another is current, or changed again.
func (c *Client) UpdateBackup(ctx context.Context, b *Backup, k *vault.Key, held *BackupState) (string, error) {
	var etag string
	if held != nil {
		etag = held.ETag
	}
	if lacks(b, held) {
		var err error
		if etag, err = c.mergeBlob(ctx, b, k); err != nil {
			return "", err
		}
	}
	for attempt := 0; ; attempt++ {
		sealed, err := SealBackup(b, k)
		if err != nil {
			return "", err
		}
		if len(sealed) > chusme.MaxBlobSize {
			return "", fmt.Errorf("client: the backup of %d shares and %d dropped shares takes %d bytes, more than the server's %d-byte limit",
				len(b.Shares), len(b.Dropped), len(sealed), chusme.MaxBlobSize)
		}
		tag, err := c.PutBlob(ctx, b.Fingerprint, sealed, etag)
		if chusme.ErrorCode(err) != chusme.CodePreconditionFailed {
			return tag, err
		}
		if attempt > 0 {
			return "", fmt.Errorf("%w: it changed again while this device merged it", ErrBackupConflict)
		}
		if etag, err = c.mergeBlob(ctx, b, k); err != nil {
			return "", err
		}
	}
}

// lacks reports whether held names a share that b neither holds, in that
// generation or a later one, nor drops from a later generation, or a
// dropped share that b neither drops, from that generation or a later
// one, nor holds in that generation or a later one.
func lacks(b *Backup, held *BackupState) bool {
	if held == nil {
		return false
	}
	atLeast := func(keyID string, g int) bool {
		return slices.ContainsFunc(b.Shares, func(s *sharefile.Share) bool { return s.KeyID == keyID && s.Generation >= g })
	}
	for _, h := range held.Shares {
		if !atLeast(h.KeyID, h.Generation) && b.droppedFrom(h.KeyID) <= h.Generation {
			return true
		}
	}
	for _, d := range held.Dropped {
		if !atLeast(d.KeyID, d.Generation) && b.droppedFrom(d.KeyID) < d.Generation {
			return true
		}
	}
	return false
}

// mergeBlob reads identity b.Fingerprint's blob, opens it under k and
// merges it into b (mergeBackup); it returns the blob's ETag.
func (c *Client) mergeBlob(ctx context.Context, b *Backup, k *vault.Key) (string, error) {
	blob, etag, err := c.Blob(ctx, b.Fingerprint)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return "", nil // gone: nothing to merge, and the next write is the first
	}
	if err != nil {
		return "", err
	}
	theirs, err := openBackupWith(b.Fingerprint, blob, k)
	if errors.Is(err, vault.ErrOtherKey) {
		return "", fmt.Errorf("%w: it is sealed under another backup passphrase", ErrBackupConflict)
	}
	if err != nil {
		return "", err
	}
	return etag, c.mergeBackup(ctx, b, theirs)
}

// mergeBackup merges theirs, a backup of the same identity another device
// wrote, into b and zeroes what it does not keep: the shares b lacks, or
// holds in an earlier generation, are theirs unless b drops them from a
// later generation; then theirs dropped shares are dropped from b (Drop).
// If the keys differ, b's must be the identity's current key.
func (c *Client) mergeBackup(ctx context.Context, b, theirs *Backup) error {
	defer theirs.Zero()
	if !bytes.Equal(b.Key, theirs.Key) {
		_, cur, err := c.VerifiedChain(ctx, b.Fingerprint)
		if err != nil {
			return err
		}
		if !cur.Equal(b.Key.Public()) {
			return fmt.Errorf("%w: this device's identity key is not the identity's current key", ErrBackupConflict)
		}
	}
	for i, s := range theirs.Shares {
		j := slices.IndexFunc(b.Shares, func(o *sharefile.Share) bool { return o.KeyID == s.KeyID })
		switch {
		case b.droppedFrom(s.KeyID) > s.Generation:
			continue
		case j < 0:
			b.Shares = append(b.Shares, s)
			b.Dropped = slices.DeleteFunc(b.Dropped, func(d DroppedShare) bool { return d.KeyID == s.KeyID })
		case s.Generation > b.Shares[j].Generation:
			b.Shares[j].Zero()
			b.Shares[j] = s
		default:
			continue
		}
		theirs.Shares[i] = nil // b's now
	}
	for _, d := range theirs.Dropped {
		b.Drop(d)
	}
	return nil
}

// RestoredBackup is what RestoreBackup brought back. It is secret: Zero it
// when done.
type RestoredBackup struct {
	// Backup holds the identity's current key and the shares that passed
	// the checks, each with the public key package of the group key.
	Backup
	// Refused lists the shares that did not pass, and why.
	Refused []RefusedShare
	// VaultKey is the key the backup is sealed under: UpdateBackup
	// re-seals the backup with it.
	VaultKey *vault.Key
	// ETag is the blob's.
	ETag string
	// Pending is, if the backup's key is not the identity's current key
	// but can still cancel the rotation that replaced it (the chain's last
	// entry, within its window), that rotation; then every share is
	// refused with ErrKeyReplaced. Nil otherwise.
	Pending *chusme.ChainEntry
}

// RefusedShare is a share in a backup that RestoreBackup did not bring
// back: the server no longer has its group key, or the group key or its
// certificate does not verify, or its current generation does not name the
// identity (ErrNotHolder) or is not the share's, or the share is not the
// identity's share of it.
type RefusedShare struct {
	KeyID      string
	Generation int
	Err        error
}

// Zero wipes the key, the shares and the vault key.
func (r *RestoredBackup) Zero() {
	r.Backup.Zero()
	r.VaultKey.Wipe()
}

// RestoreBackup fetches identity fp's blob, opens it with the backup
// passphrase and checks, against the verified chain, that its key is the
// identity's current key, or a key that can still cancel the rotation
// that replaced it (Pending). If the backup holds shares, it logs in with that
// key (Login with LoginFingerprint(fp) and opts, which may answer a TOTP
// request), and for each share fetches the group key (GroupKey: the key
// the id names, its certificate signed by its participants at the heads of
// their verified chains) and checks that the share is the identity's share
// of it (as sharefile.Open does); a share that fails is not returned but
// listed in Refused. A share the key's current generation does not name
// the identity a holder of is refused with ErrNotHolder and dropped from
// the result's backup (Drop) from that generation on, so that re-sealing
// the result leaves it out; the backup's dropped shares are not restored
// and not refused. ErrNoBackup if there is no blob, vault.ErrDecrypt
// (wrapped) for a wrong passphrase, ErrStaleBackup (wrapped, naming the
// entry that replaced the key, its time and its window's end) for a key
// that can cancel nothing, or Login's error. The caller Zeroes the result.
func (c *Client) RestoreBackup(ctx context.Context, fp string, passphrase []byte, opts ...LoginOption) (*RestoredBackup, error) {
	sealed, etag, err := c.Blob(ctx, fp)
	if chusme.ErrorCode(err) == chusme.CodeNotFound {
		return nil, ErrNoBackup
	} else if err != nil {
		return nil, err
	}
	b, k, err := OpenBackup(fp, sealed, passphrase)
	if err != nil {
		return nil, err
	}
	r := &RestoredBackup{Backup: *b, VaultKey: k, ETag: etag}
	ch, cur, err := c.VerifiedChain(ctx, fp)
	if err == nil && !cur.Equal(b.Key.Public()) {
		r.Pending, err = c.cancellable(fp, ch.Entries, b.Key)
	}
	if err == nil && len(r.Shares) > 0 && r.Pending == nil {
		_, err = c.Login(ctx, r.Key, append([]LoginOption{LoginFingerprint(fp)}, opts...)...)
	}
	if err != nil {
		r.Zero()
		return nil, err
	}
	var kept []*sharefile.Share
	var dropped []DroppedShare
	for _, s := range r.Shares {
		generation, err := 0, ErrKeyReplaced
		if r.Pending == nil {
			generation, err = c.restoreShare(ctx, s)
		}
		if err != nil {
			r.Refused = append(r.Refused, RefusedShare{KeyID: s.KeyID, Generation: s.Generation, Err: err})
			s.Zero()
			if errors.Is(err, ErrNotHolder) {
				dropped = append(dropped, DroppedShare{KeyID: s.KeyID, Generation: generation})
			}
			continue
		}
		kept = append(kept, s)
	}
	r.Shares = kept
	for _, d := range dropped {
		r.Drop(d)
	}
	return r, nil
}

// cancellable returns the chain's last entry if key, which is not identity
// fp's current key, can cancel it now by the chain's rules: a cancellation
// it signs passes chusme.CheckChainAppend, as the server would judge it (a
// device rotation that replaced key, within its cancel window). Otherwise
// it returns ErrStaleBackup, wrapped with the entry that replaced key, its
// time, its window's end and why key can't cancel it.
func (c *Client) cancellable(fp string, chain []chusme.ChainEntry, key ed25519.PrivateKey) (*chusme.ChainEntry, error) {
	pub := key.Public().(ed25519.PublicKey)
	i := len(chain) - 1
	for ; i > 0; i-- {
		if e := chain[i]; (e.Kind == chusme.EntryRotate || e.Kind == chusme.EntryRecover) && pub.Equal(ed25519.PublicKey(e.OldKey)) {
			break
		}
	}
	if i == 0 {
		return nil, fmt.Errorf("%w: it was never replaced by a rotation of the identity's chain", ErrStaleBackup)
	}
	h, last := chain[i], chain[len(chain)-1]
	why := fmt.Sprintf("entry %d came after it", last.Seq)
	if i == len(chain)-1 {
		req := c.cancelRequest(fp, h, key)
		trial := chusme.ChainEntry{Seq: req.Seq, Kind: chusme.EntryCancel, Prev: req.Prev, OldKey: h.NewKey, NewKey: h.OldKey,
			Cancels: h.Seq, Time: req.Time, Signature: req.Signature, AcceptedAt: c.now()}
		trial.Hash = chusme.EntryHash(c.issuer, fp, trial)
		_, err := chusme.CheckChainAppend(c.issuer, fp, chain, trial, keys.CheckPublicKey, keys.Verify)
		if err == nil {
			return &h, nil
		}
		why = chusme.ErrorMessage(err)
	}
	return nil, fmt.Errorf("%w: chain entry %d (%s, accepted %s, cancel window until %s) replaced it, and it can't cancel that: %s",
		ErrStaleBackup, h.Seq, h.Kind, h.AcceptedAt.UTC().Format(time.RFC3339),
		h.AcceptedAt.Add(chusme.RotationCancelWindow).UTC().Format(time.RFC3339), why)
}

// restoreShare gives s the public key package of its group key as the
// server has it, verified (GroupKey), and checks that the key's current
// generation is s's and names s's identity, and that s is a share of it.
// It returns the key's current generation.
func (c *Client) restoreShare(ctx context.Context, s *sharefile.Share) (int, error) {
	k, err := c.GroupKey(ctx, s.KeyID)
	if err != nil {
		return 0, err
	}
	switch {
	case !slices.Contains(k.Participants, s.Identity):
		return k.Generation, fmt.Errorf("%w: key %s's generation %d, made by ceremony %s, does not name %s as a holder",
			ErrNotHolder, s.KeyID, k.Generation, k.CeremonyID, s.Identity)
	case k.Generation != s.Generation:
		return k.Generation, fmt.Errorf("client: the share of key %s is of generation %d, the key is at generation %d", s.KeyID, s.Generation, k.Generation)
	}
	pkp := new(frost.PublicKeyPackage)
	if err := pkp.UnmarshalBinary(k.PublicKeyPackage); err != nil {
		return 0, err
	}
	s.PublicKeyPackage = pkp
	return k.Generation, s.Check()
}
