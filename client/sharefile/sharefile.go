// Package sharefile stores a participant's FROST key share on disk, sealed
// under the identity key file's passphrase with package vault.
//
// One file holds one share of one group key, conventionally at
// CONFIG/shares/<key_id>.share (see Path). The file is JSON:
//
//	{"version":2,"key_id":"<64 hex>","generation":N,"identity":"<64 hex>","ceremony_id":"<32 hex>",
//	 "public_key_package":"<base64url>","sealed":"<base64url>"}
//
// where generation counts the shares of the key this participant has held:
// 1 for the share a DKG made, one more for each refresh or reshare, which
// keep the group key and so the key id (an old generation's share does not
// sign with the new ones). Version 1 files, without generation, still read,
// as generation 1; Save writes version 2. Sealed is a vault with purpose
// "frost-key-share" holding the participant's frost.KeyPackage
// (MarshalBinary: identifier, signing share, verifying share, group key,
// threshold). The key id, generation, identity and public key package are
// readable without the passphrase. Read checks that the key id is
// the group key's; Open checks that the decrypted key package belongs to it:
// same group key and threshold, the identity's identifier, and the verifying
// share the public key package records for that identifier.
package sharefile

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/jsonfile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
)

// Version is the share file format version written by Save. Load also reads
// version 1 (OldestVersion), whose shares are generation 1.
const Version = 2

// OldestVersion is the oldest share file format version Load reads.
const OldestVersion = 1

// Purpose is the vault purpose of the sealed key package.
const Purpose = chusme.VaultPurposeKeyShare

// Mode is the permission of a share file: readable by its owner only.
const Mode fs.FileMode = 0o600

// Dir is the directory of share files inside the config directory, and
// Suffix ends their names.
const (
	Dir    = "shares"
	Suffix = ".share"
)

// maxFileSize bounds what Read reads; a 64-participant share file is about
// 6 KiB.
const maxFileSize = 64 << 10

// Errors returned by Save, Read and Load. Load also returns vault.ErrDecrypt
// (wrapped) for a wrong passphrase or an altered sealed part.
var (
	// ErrExists means Save found a file at the path and was not asked to
	// overwrite it. It satisfies errors.Is(err, fs.ErrExist).
	ErrExists = fmt.Errorf("sharefile: share file exists: %w", fs.ErrExist)
	// ErrFormat means the file is not a share file this version reads.
	ErrFormat = errors.New("sharefile: malformed share file")
	// ErrMismatch means the parts of the file do not belong together: the
	// key id is not the group key's, or the key package is not the
	// identity's share of that group key.
	ErrMismatch = errors.New("sharefile: key share does not match the recorded group key")
)

// kind is how share files are read and written.
var kind = jsonfile.Kind{Version: Version, Oldest: OldestVersion, MaxSize: maxFileSize, Mode: Mode, ErrExists: ErrExists, ErrFormat: ErrFormat}

// Path returns where the share of key keyID lives in config directory dir:
// dir/shares/<keyID>.share.
func Path(dir, keyID string) string {
	return filepath.Join(dir, Dir, keyID+Suffix)
}

// Share is an opened share file. KeyPackage is secret: Zero the share when
// done with it.
type Share struct {
	KeyID            string // the group key id (chusme.GroupKeyID of its public key)
	Generation       int    // 1 for a DKG's share, one more per refresh or reshare; Save takes 0 for 1
	Identity         string // fingerprint of the participant
	CeremonyID       string // the DKG ceremony that made the key ("" if unknown)
	KeyPackage       *frost.KeyPackage
	PublicKeyPackage *frost.PublicKeyPackage
}

// Zero wipes the key package's signing share.
func (s *Share) Zero() {
	if s != nil && s.KeyPackage != nil {
		s.KeyPackage.Zero()
	}
}

// File is the content of a share file.
type File struct {
	Version          int          `json:"version"`
	KeyID            string       `json:"key_id"`
	Generation       int          `json:"generation,omitempty"` // absent in version 1: Parse sets 1
	Identity         string       `json:"identity"`
	CeremonyID       string       `json:"ceremony_id,omitempty"`
	PublicKeyPackage chusme.Bytes `json:"public_key_package"`
	Sealed           chusme.Bytes `json:"sealed"`
}

// Save seals s's key package under passphrase with Argon2id parameters p
// (the zero value means vault.DefaultParams) and writes the share file to
// path with mode 0600, atomically. It checks the share first (as Open does).
// It refuses to replace an existing file (ErrExists) unless overwrite is set.
// The directory must exist. A Generation of 0 is written as 1.
func Save(path string, s *Share, passphrase []byte, p vault.Params, overwrite bool) error {
	if err := s.sealable(); err != nil {
		return err
	}
	if err := kind.Absent(path, overwrite); err != nil {
		return err
	}
	f, err := seal(s, passphrase, p)
	if err != nil {
		return err
	}
	return kind.Write(path, f, overwrite)
}

// Seal returns the share file of s, sealed as Save seals it, as Save
// writes it: for a program without a file system (the browser's), which
// keeps or exports the bytes itself.
func Seal(s *Share, passphrase []byte, p vault.Params) ([]byte, error) {
	if err := s.sealable(); err != nil {
		return nil, err
	}
	f, err := seal(s, passphrase, p)
	if err != nil {
		return nil, err
	}
	return jsonfile.Encode(f)
}

// sealable checks s before Save and Seal seal it.
func (s *Share) sealable() error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.CeremonyID != "" && !chusme.ValidCeremonyID(s.CeremonyID) {
		return errors.New("sharefile: invalid ceremony id")
	}
	if s.Generation < 0 {
		return errors.New("sharefile: negative generation")
	}
	return nil
}

// seal seals the key package of s, which sealable checked, under passphrase.
func seal(s *Share, passphrase []byte, p vault.Params) (File, error) {
	pub, err := s.PublicKeyPackage.MarshalBinary()
	if err != nil {
		return File{}, err
	}
	kp, err := s.KeyPackage.MarshalBinary()
	if err != nil {
		return File{}, err
	}
	sealed, err := vault.Seal(passphrase, Purpose, kp, p)
	clear(kp)
	if err != nil {
		return File{}, err
	}
	return File{
		Version:          Version,
		KeyID:            s.KeyID,
		Generation:       max(s.Generation, 1),
		Identity:         s.Identity,
		CeremonyID:       s.CeremonyID,
		PublicKeyPackage: pub,
		Sealed:           sealed,
	}, nil
}

// Read reads and checks the public part of the share file at path: version,
// generation, identity, public key package and key id. It needs no
// passphrase.
func Read(path string) (File, error) {
	return jsonfile.Read(kind, path, Parse)
}

// Parse decodes and checks a share file's content (see Read). A version 1
// file's Generation is 1.
func Parse(data []byte) (File, error) {
	var sf File
	if err := kind.Decode(data, &sf, &sf.Version); err != nil {
		return File{}, err
	}
	switch {
	case sf.Version == 1 && sf.Generation != 0:
		return File{}, fmt.Errorf("%w: a version 1 file has no generation", ErrFormat)
	case sf.Version == 1:
		sf.Generation = 1
	case sf.Generation < 1:
		return File{}, fmt.Errorf("%w: generation %d (the first is 1)", ErrFormat, sf.Generation)
	}
	if !chusme.ValidFingerprint(sf.KeyID) || !chusme.ValidFingerprint(sf.Identity) {
		return File{}, fmt.Errorf("%w: key id or identity is not 64 lowercase hex digits", ErrFormat)
	}
	if _, err := sf.publicKeyPackage(); err != nil {
		return File{}, err
	}
	return sf, nil
}

func (sf File) publicKeyPackage() (*frost.PublicKeyPackage, error) {
	pub := new(frost.PublicKeyPackage)
	if err := pub.UnmarshalBinary(sf.PublicKeyPackage); err != nil {
		return nil, fmt.Errorf("%w: public key package: %v", ErrFormat, err)
	}
	if chusme.GroupKeyID(pub.VerifyingKey().Bytes()) != sf.KeyID {
		return nil, fmt.Errorf("%w: key id %s is not the group key's", ErrMismatch, sf.KeyID)
	}
	return pub, nil
}

// Load reads the share file at path and opens it with passphrase. It
// returns vault.ErrDecrypt (wrapped) for a wrong passphrase and ErrMismatch
// if the key package is not the recorded share. The caller Zeroes the share.
func Load(path string, passphrase []byte) (*Share, error) {
	sf, err := Read(path)
	if err != nil {
		return nil, err
	}
	return sf.Open(passphrase)
}

// Open decrypts the key package of a parsed share file and checks it
// against the recorded group key, identity and verifying share.
func (sf File) Open(passphrase []byte) (*Share, error) {
	pub, err := sf.publicKeyPackage()
	if err != nil {
		return nil, err
	}
	pt, err := vault.Open(passphrase, Purpose, sf.Sealed)
	if err != nil {
		return nil, fmt.Errorf("sharefile: %w", err)
	}
	kp := new(frost.KeyPackage)
	err = kp.UnmarshalBinary(pt)
	clear(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: key package: %v", ErrFormat, err)
	}
	s := &Share{KeyID: sf.KeyID, Generation: sf.Generation, Identity: sf.Identity, CeremonyID: sf.CeremonyID, KeyPackage: kp, PublicKeyPackage: pub}
	if err := s.Check(); err != nil {
		kp.Zero()
		return nil, err
	}
	return s, nil
}

// Check reports whether s's parts belong together, as Save and Open check
// them: the key id is the public key package's group key's, and the key
// package is the identity's share of that group key (same group key and
// threshold, the identity's identifier, the verifying share the package
// records for it). It returns ErrMismatch (wrapped) if not.
func (s *Share) Check() error {
	if s == nil || s.KeyPackage == nil || s.PublicKeyPackage == nil {
		return errors.New("sharefile: incomplete share")
	}
	kp, pub := s.KeyPackage, s.PublicKeyPackage
	if !chusme.ValidFingerprint(s.Identity) {
		return errors.New("sharefile: invalid identity fingerprint")
	}
	if chusme.GroupKeyID(pub.VerifyingKey().Bytes()) != s.KeyID {
		return fmt.Errorf("%w: key id %s is not the group key's", ErrMismatch, s.KeyID)
	}
	if !kp.VerifyingKey().Equal(pub.VerifyingKey()) || kp.MinSigners() != pub.MinSigners() {
		return fmt.Errorf("%w: the key package is for another group key or threshold", ErrMismatch)
	}
	id, err := frost.DeriveIdentifier([]byte(s.Identity))
	if err != nil {
		return err
	}
	if kp.Identifier() != id {
		return fmt.Errorf("%w: the key package is not identity %s's", ErrMismatch, s.Identity)
	}
	vs, ok := pub.VerifyingShare(id)
	if !ok || !vs.Equal(kp.VerifyingShare()) {
		return fmt.Errorf("%w: the key package's verifying share is not the one the group key records", ErrMismatch)
	}
	return nil
}

// Summary is the public part of a share file's group key, for listing.
type Summary struct {
	PublicKey    []byte        // the group public key
	Threshold    int           // t: the signers a signature needs
	N            int           // the participants
	Participants []Participant // in the order of their FROST identifiers
}

// Participant is a participant of a group key: its FROST identifier and,
// when known, the fingerprint it is derived from.
type Participant struct {
	Identifier  []byte
	Fingerprint string // "" if none of the fingerprints given has this identifier
}

// Summary returns the group key of the share file: public key, threshold,
// and its participants, named by the fingerprints among known whose
// identifiers they have. It needs no passphrase.
func (sf File) Summary(known []string) (Summary, error) {
	pub, err := sf.publicKeyPackage()
	if err != nil {
		return Summary{}, err
	}
	byID := map[frost.Identifier]string{}
	for _, fp := range known {
		if id, err := frost.DeriveIdentifier([]byte(fp)); err == nil {
			byID[id] = fp
		}
	}
	s := Summary{PublicKey: pub.VerifyingKey().Bytes(), Threshold: pub.MinSigners(), N: pub.MaxSigners()}
	for _, id := range pub.Identifiers() {
		s.Participants = append(s.Participants, Participant{Identifier: id.Bytes(), Fingerprint: byID[id]})
	}
	return s, nil
}
