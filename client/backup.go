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

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/strictjson"
)

// BackupPurpose is the vault purpose of an identity backup: the key a
// passphrase yields for it is never the key of the identity key file.
const BackupPurpose = chusme.VaultPurposeBackup

// BackupVersion is the version of the plaintext SealBackup seals: the
// identity key and the FROST key shares. OpenBackup also reads version 1,
// the identity key alone.
const BackupVersion = 2

// Errors of the backup calls.
var (
	// ErrNoBackup means the identity has no blob on the server.
	ErrNoBackup = errors.New("client: the identity has no backup on the server")
	// ErrStaleBackup means the backup opened but holds a key that is no
	// longer the identity's current key (it rotated since).
	ErrStaleBackup = errors.New("client: the backup holds a key that is no longer the identity's current key")
	// ErrBackupConflict means UpdateBackup found the blob changed since
	// this device wrote it and could not merge it: it is sealed under
	// another backup passphrase, it holds another key than this device's
	// current one, or it changed again meanwhile.
	ErrBackupConflict = errors.New("client: the backup was changed by another device")
)

// Backup is what an identity backup holds: the identity's current key and
// its FROST key shares, without their public key packages (public and
// certified: RestoreBackup fetches them from the server). It is secret:
// Zero it when done.
type Backup struct {
	Fingerprint string             // the identity
	Key         ed25519.PrivateKey // its current key
	Shares      []*sharefile.Share // the identity's shares (PublicKeyPackage unused)
	Version     int                // the plaintext version OpenBackup read (1: the key alone); SealBackup writes BackupVersion
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
	Version     int           `json:"version"`
	Fingerprint string        `json:"fingerprint"` // the identity
	Seed        chusme.Bytes  `json:"seed"`        // the current key's Ed25519 seed
	Shares      []backupShare `json:"shares"`      // absent in version 1
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

// SealBackup seals b under k, a key of purpose BackupPurpose (from the
// backup passphrase: vault.DeriveKey, or the key OpenBackup returned), as
// plaintext version BackupVersion: the key's seed and, sorted by key id,
// every share's key id, generation, identity, ceremony id and key package.
// The server never sees the passphrase, the key or a share.
func SealBackup(b *Backup, k *vault.Key) ([]byte, error) {
	if k == nil || k.Purpose() != BackupPurpose {
		return nil, fmt.Errorf("client: a backup is sealed under a key of purpose %s", BackupPurpose)
	}
	if err := checkKey(b.Key); err != nil {
		return nil, err
	}
	plain := backupPlain{Version: BackupVersion, Fingerprint: b.Fingerprint, Seed: b.Key.Seed(), Shares: []backupShare{}}
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
	slices.SortFunc(plain.Shares, func(a, b backupShare) int { return cmp.Compare(a.KeyID, b.KeyID) })
	for i := 1; i < len(plain.Shares); i++ {
		if plain.Shares[i].KeyID == plain.Shares[i-1].KeyID {
			return nil, fmt.Errorf("client: two shares of key %s", plain.Shares[i].KeyID)
		}
	}
	data, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	return k.Seal(data), nil
}

// OpenBackup opens a backup of identity fp, of plaintext version 1 or 2,
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
	if err != nil || len(p.Seed) != ed25519.SeedSize || (p.Version != 1 && p.Version != BackupVersion) || (p.Version == 1 && p.Shares != nil) {
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
		etag, err = c.UpdateBackup(ctx, b, k, etag, nil)
	}
	if err != nil {
		k.Wipe()
		return "", nil, err
	}
	return etag, k, nil
}

// UpdateBackup seals b under k (the key PushBackup or OpenBackup returned:
// the same backup passphrase, which it does not need) and writes it over
// the blob whose ETag is etag, the one this device last wrote ("" if it
// wrote none), compare-and-swap. held is what that blob holds
// (BackupState.Shares): if it holds a share b lacks, or a later generation
// of one (another device's, merged in before), the blob is read and merged
// into b first, so an update never drops a share from the backup. If
// another device wrote the blob since, it is read and merged as well, and
// written once more. Merging takes the shares b lacks, or holds in an
// earlier generation; a different identity key is kept only if it is the
// identity's current key. It returns the new ETag, or ErrBackupConflict
// (wrapped) if the blob is sealed under another key, holds b's key while
// another is current, or changed again.
func (c *Client) UpdateBackup(ctx context.Context, b *Backup, k *vault.Key, etag string, held []BackedUpShare) (string, error) {
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
			return "", fmt.Errorf("client: the backup of %d shares takes %d bytes, more than the server's %d-byte limit", len(b.Shares), len(sealed), chusme.MaxBlobSize)
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

// lacks reports whether held names a share that b does not hold, in that
// generation or a later one.
func lacks(b *Backup, held []BackedUpShare) bool {
	for _, h := range held {
		if !slices.ContainsFunc(b.Shares, func(s *sharefile.Share) bool { return s.KeyID == h.KeyID && s.Generation >= h.Generation }) {
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
// holds in an earlier generation, are theirs. If the keys differ, b's must
// be the identity's current key.
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
		case j < 0:
			b.Shares = append(b.Shares, s)
		case s.Generation > b.Shares[j].Generation:
			b.Shares[j].Zero()
			b.Shares[j] = s
		default:
			continue
		}
		theirs.Shares[i] = nil // b's now
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
}

// RefusedShare is a share in a backup that RestoreBackup did not bring
// back: the server no longer has its group key, or the group key or its
// certificate does not verify, or the share is not the identity's share of
// it.
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
// identity's current key. If the backup holds shares, it logs in with that
// key (Login with LoginFingerprint(fp) and opts, which may answer a TOTP
// request), and for each share fetches the group key (GroupKey: the key
// the id names, its certificate signed by its participants at the heads of
// their verified chains) and checks that the share is the identity's share
// of it (as sharefile.Open does); a share that fails is not returned but
// listed in Refused. ErrNoBackup if there is no blob, vault.ErrDecrypt
// (wrapped) for a wrong passphrase, ErrStaleBackup for an outdated key, or
// Login's error. The caller Zeroes the result.
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
	_, cur, err := c.VerifiedChain(ctx, fp)
	if err == nil && !cur.Equal(b.Key.Public()) {
		err = ErrStaleBackup
	}
	if err == nil && len(r.Shares) > 0 {
		_, err = c.Login(ctx, r.Key, append([]LoginOption{LoginFingerprint(fp)}, opts...)...)
	}
	if err != nil {
		r.Zero()
		return nil, err
	}
	kept := r.Shares[:0]
	for _, s := range r.Shares {
		if err := c.restoreShare(ctx, s); err != nil {
			r.Refused = append(r.Refused, RefusedShare{KeyID: s.KeyID, Generation: s.Generation, Err: err})
			s.Zero()
			continue
		}
		kept = append(kept, s)
	}
	r.Shares = kept
	return r, nil
}

// restoreShare gives s the public key package of its group key as the
// server has it, verified (GroupKey), and checks that s is a share of it.
func (c *Client) restoreShare(ctx context.Context, s *sharefile.Share) error {
	k, err := c.GroupKey(ctx, s.KeyID)
	if err != nil {
		return err
	}
	pkp := new(frost.PublicKeyPackage)
	if err := pkp.UnmarshalBinary(k.PublicKeyPackage); err != nil {
		return err
	}
	s.PublicKeyPackage = pkp
	return s.Check()
}
