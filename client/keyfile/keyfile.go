// Package keyfile stores an identity's Ed25519 key on disk, its seed sealed
// under a passphrase with package vault.
//
// The file is JSON:
//
//	{"version":1,"fingerprint":"<64 hex>","public_key":"<base64url>","sealed":"<base64url>"}
//
// (plus "identity":"<64 hex>" for a rotated key, see File.Identity)
// where sealed is a vault with purpose "identity-key" holding the 32-byte
// Ed25519 seed. The fingerprint and public key are readable without the
// passphrase; Load checks that the decrypted seed yields both.
package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/atomicfile"
	"github.com/chusme/chusme/client/internal/jsonfile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/keys"
)

// Version is the key file format version written by Save and read by Load.
const Version = 1

// Purpose is the vault purpose of the sealed seed.
const Purpose = chusme.VaultPurposeIdentityKey

// Mode is the permission of a key file: readable by its owner only.
const Mode fs.FileMode = 0o600

// maxFileSize bounds what Load reads; a real key file is well under 1 KiB.
const maxFileSize = 64 << 10

// Errors returned by Save and Load. Load also returns vault.ErrDecrypt for a
// wrong passphrase.
var (
	// ErrExists means Save found a file at the path and was not asked to
	// overwrite it. It satisfies errors.Is(err, fs.ErrExist).
	ErrExists = fmt.Errorf("keyfile: key file exists: %w", fs.ErrExist)
	// ErrFormat means the file is not a key file this version reads.
	ErrFormat = errors.New("keyfile: malformed key file")
	// ErrMismatch means the decrypted seed does not yield the public key
	// or fingerprint the file records.
	ErrMismatch = errors.New("keyfile: sealed key does not match the recorded public key")
)

// kind is how key files are read and written.
var kind = jsonfile.Kind{Version: Version, MaxSize: maxFileSize, Mode: Mode, ErrExists: ErrExists, ErrFormat: ErrFormat}

// File is the content of a key file.
type File struct {
	Version     int          `json:"version"`
	Fingerprint string       `json:"fingerprint"`
	PublicKey   chusme.Bytes `json:"public_key"`
	Sealed      chusme.Bytes `json:"sealed"`
	// Identity is the fingerprint of the identity the key belongs to when
	// that is not Fingerprint: after a key rotation the current key is no
	// longer the genesis key. Empty means Fingerprint.
	Identity string `json:"identity,omitempty"`
}

// IdentityFingerprint returns the fingerprint of the identity the key
// belongs to: Identity, or Fingerprint when the key is the genesis key.
func (kf File) IdentityFingerprint() string {
	if kf.Identity != "" {
		return kf.Identity
	}
	return kf.Fingerprint
}

// SaveFor is Save (or Overwrite, when overwrite is set) for a key of
// identity fp that need not be its genesis key (a rotated key).
func SaveFor(path, fp string, key ed25519.PrivateKey, passphrase []byte, p vault.Params, overwrite bool) error {
	if !chusme.ValidFingerprint(fp) {
		return errors.New("keyfile: invalid identity fingerprint")
	}
	return saveFile(path, fp, key, passphrase, p, overwrite)
}

// Save seals key's seed under passphrase with Argon2id parameters p (the
// zero value means vault.DefaultParams) and writes the key file to path with
// mode 0600, atomically. It refuses to replace an existing file (ErrExists);
// use Overwrite for that.
func Save(path string, key ed25519.PrivateKey, passphrase []byte, p vault.Params) error {
	return save(path, key, passphrase, p, false)
}

// Overwrite is Save, replacing any existing file at path.
func Overwrite(path string, key ed25519.PrivateKey, passphrase []byte, p vault.Params) error {
	return save(path, key, passphrase, p, true)
}

func save(path string, key ed25519.PrivateKey, passphrase []byte, p vault.Params, overwrite bool) error {
	return saveFile(path, "", key, passphrase, p, overwrite)
}

func saveFile(path, identity string, key ed25519.PrivateKey, passphrase []byte, p vault.Params, overwrite bool) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("keyfile: invalid private key size")
	}
	if err := kind.Absent(path, overwrite); err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	sealed, err := vault.Seal(passphrase, Purpose, key.Seed(), p)
	if err != nil {
		return err
	}
	return kind.Write(path, File{
		Version:     Version,
		Fingerprint: chusme.Fingerprint(pub),
		PublicKey:   chusme.Bytes(pub),
		Sealed:      sealed,
		Identity:    identity,
	}, overwrite)
}

// WriteBytes writes a key file's bytes as Read's callers got them (still
// sealed) to path, atomically with mode 0600, replacing any file there: for
// keeping a copy of a key file, such as the key a rotation replaces. It
// refuses bytes that are not a key file.
func WriteBytes(path string, data []byte) error {
	if _, err := Parse(data); err != nil {
		return err
	}
	return atomicfile.Write(path, data, Mode, true)
}

// Read reads and checks the public part of the key file at path: version,
// public key (strictly, see keys.CheckPublicKey) and fingerprint. It needs no
// passphrase.
func Read(path string) (File, error) {
	return jsonfile.Read(kind, path, Parse)
}

// Parse decodes and checks a key file's content (see Read).
func Parse(data []byte) (File, error) {
	var kf File
	if err := kind.Decode(data, &kf, &kf.Version); err != nil {
		return File{}, err
	}
	if err := keys.CheckPublicKey(kf.PublicKey); err != nil {
		return File{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if kf.Fingerprint != chusme.Fingerprint(kf.PublicKey) {
		return File{}, ErrMismatch
	}
	if kf.Identity != "" && !chusme.ValidFingerprint(kf.Identity) {
		return File{}, fmt.Errorf("%w: identity is not a fingerprint", ErrFormat)
	}
	return kf, nil
}

// Load reads the key file at path and opens its sealed seed with
// passphrase. It returns vault.ErrDecrypt (wrapped) for a wrong passphrase
// and ErrMismatch if the seed does not yield the recorded public key. The
// caller owns the returned key and may wipe it with clear.
func Load(path string, passphrase []byte) (ed25519.PrivateKey, error) {
	kf, err := Read(path)
	if err != nil {
		return nil, err
	}
	return kf.Open(passphrase)
}

// Open decrypts the seed of a parsed key file and checks it against the
// recorded public key and fingerprint.
func (kf File) Open(passphrase []byte) (ed25519.PrivateKey, error) {
	seed, err := vault.Open(passphrase, Purpose, kf.Sealed)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	defer clear(seed)
	if len(seed) != ed25519.SeedSize {
		return nil, ErrFormat
	}
	key := ed25519.NewKeyFromSeed(seed)
	pub := key.Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, kf.PublicKey) || chusme.Fingerprint(pub) != kf.Fingerprint {
		clear(key)
		return nil, ErrMismatch
	}
	return key, nil
}
