// Package roundstate seals a ceremony participant's round state on disk, so
// that a participant interrupted by Ctrl-C, a crash or a lost network can
// resume the ceremony where it stopped.
//
// A ceremony's state lives in DIR/<ceremony id>.state (mode 0600, written
// atomically at each step and removed when the ceremony ends). The file is
// JSON:
//
//	{"version":1,"ceremony_id":"<32 hex>","round":N,"key":"<base64url>","state":"<base64url>"}
//
// where round is the state's round, readable without the passphrase (Round),
// key is a vault (client/vault, purpose "ceremony-state") holding the
// ceremony's random 32-byte state key under the participant's passphrase,
// and state is nonce ‖ AES-256-GCM ciphertext ‖ tag of the State (JSON) under
// that key, with chusme.CeremonyStateAD(ceremony id) as associated data. The
// state key is drawn and sealed once per ceremony (Create: one Argon2id
// derivation), and each step re-encrypts only the state under it, so a step
// costs an AES-GCM seal and an fsync, not a key derivation. Only the ceremony
// id and the round are readable without the passphrase (the server knows
// both); everything in State is encrypted,
// and its secret fields (see State) give whoever holds them the
// participant's part of the ceremony.
package roundstate

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/jsonfile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/strictjson"
)

// Version is the state file format version written and read.
const Version = 1

// Purpose is the vault purpose of the sealed state key.
const Purpose = chusme.VaultPurposeCeremonyState

// Mode is the permission of a state file: readable by its owner only.
const Mode fs.FileMode = 0o600

// Suffix ends the state files' names.
const Suffix = ".state"

// keySize is the state key's length: AES-256.
const keySize = 32

// maxFileSize bounds what Open reads: a state holds a participant's own
// packages (a DKG's round 2 has one per peer, about 150 bytes each, and a
// signing package carries the message), so 4 MiB leaves room for 255
// participants and the largest message.
const maxFileSize = 4 << 20

// Errors of Open. A wrong passphrase is vault.ErrDecrypt (wrapped).
var (
	// ErrNotFound means there is no state file for the ceremony. It
	// satisfies errors.Is(err, fs.ErrNotExist).
	ErrNotFound = fmt.Errorf("roundstate: no round state for this ceremony: %w", fs.ErrNotExist)
	// ErrFormat means the file is not a state file this version reads.
	ErrFormat = errors.New("roundstate: malformed state file")
	// ErrTampered means the state does not decrypt under the state key: the
	// file was altered, or made for another ceremony.
	ErrTampered = errors.New("roundstate: the sealed round state does not decrypt (altered, or not this ceremony's)")
)

var kind = jsonfile.Kind{Version: Version, MaxSize: maxFileSize, Mode: Mode, ErrExists: fs.ErrExist, ErrFormat: ErrFormat}

// file is the state file's JSON.
type file struct {
	Version    int          `json:"version"`
	CeremonyID string       `json:"ceremony_id"`
	Round      int          `json:"round"`
	Key        chusme.Bytes `json:"key"`
	State      chusme.Bytes `json:"state"`
}

// State is what a participant needs to resume a ceremony. Round is the last
// round whose own package the driver made (and sealed before sending it).
// Secret fields are marked: Zero overwrites them.
type State struct {
	Kind  string `json:"kind"` // chusme.KindDKG, KindRefresh, KindReshare, KindRepair or KindSign
	Round int    `json:"round"`

	// DKG.
	Round1Secret chusme.Bytes           `json:"round1_secret,omitempty"` // secret: frost.DKGRound1Secret, until round 2 is made
	HPKEKey      chusme.Bytes           `json:"hpke_key,omitempty"`      // secret: the X25519 HPKE private key of round 1
	Round1       chusme.Bytes           `json:"round1,omitempty"`        // own round-1 payload
	Round2Secret chusme.Bytes           `json:"round2_secret,omitempty"` // secret: frost.DKGRound2Secret
	Transcript   chusme.Bytes           `json:"transcript,omitempty"`    // the DKGTranscriptHash computed from round 1
	Round2       []chusme.DirectPackage `json:"round2,omitempty"`        // own sealed round-2 packages, as sent
	Confirmation chusme.Bytes           `json:"confirmation,omitempty"`  // own round-3 payload
	Round3       []chusme.DirectPackage `json:"round3,omitempty"`        // a repair helper's sealed sum, as sent

	// Signing.
	SigningNonces  chusme.Bytes `json:"nonces,omitempty"`          // secret: frost.SigningNonces, until the share is made
	Commitment     chusme.Bytes `json:"commitment,omitempty"`      // own frost.SigningCommitments
	SigningPackage chusme.Bytes `json:"signing_package,omitempty"` // the package the nonces were used for, recorded before signing
	Share          chusme.Bytes `json:"share,omitempty"`           // own frost.SignatureShare for SigningPackage
}

// Zero overwrites the secret fields.
func (s *State) Zero() {
	clear(s.Round1Secret)
	clear(s.HPKEKey)
	clear(s.Round2Secret)
	clear(s.SigningNonces)
}

// Store is a directory of state files, sealed under one passphrase.
type Store struct {
	dir        string
	files      Files // instead of dir (NewIn), or nil
	passphrase []byte
	params     vault.Params
}

// Files keeps a store's state files by name (<ceremony id>.state) for a
// program without a file system, such as the web app in a browser.
type Files interface {
	// ReadFile returns the file's content, or an error satisfying
	// errors.Is(err, fs.ErrNotExist) if there is none.
	ReadFile(name string) ([]byte, error)
	// WriteFile replaces the file with data, atomically.
	WriteFile(name string, data []byte) error
	// Remove deletes the file; a missing file is no error.
	Remove(name string) error
}

// New returns the store of directory dir (created, mode 0700, at the first
// Create) sealing under passphrase with Argon2id parameters params (the
// zero value means vault.DefaultParams). It keeps a copy of passphrase:
// Wipe it when done.
func New(dir string, passphrase []byte, params vault.Params) *Store {
	return &Store{dir: dir, passphrase: append([]byte(nil), passphrase...), params: params}
}

// NewIn returns a store that keeps its state files, the same bytes New
// writes, in files instead of a directory.
func NewIn(files Files, passphrase []byte, params vault.Params) *Store {
	return &Store{files: files, passphrase: append([]byte(nil), passphrase...), params: params}
}

// Wipe overwrites the store's copy of the passphrase.
func (s *Store) Wipe() { clear(s.passphrase) }

// Path returns the state file of ceremony id: DIR/<id>.state (<id>.state
// in a store of NewIn).
func (s *Store) Path(id string) string { return filepath.Join(s.dir, id+Suffix) }

// Ceremony is one ceremony's state file, open with its state key.
type Ceremony struct {
	files  Files // the store's, or nil for a file on disk
	path   string
	id     string
	sealed []byte // the vault holding the state key
	aead   cipher.AEAD
}

// Create draws a new state key for ceremony id and seals it under the
// passphrase. Nothing is written until the first Save.
func (s *Store) Create(id string) (*Ceremony, error) {
	if !chusme.ValidCeremonyID(id) {
		return nil, errors.New("roundstate: invalid ceremony id")
	}
	if s.files == nil {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, err
		}
	}
	key := make([]byte, keySize)
	rand.Read(key)
	defer clear(key)
	sealed, err := vault.Seal(s.passphrase, Purpose, key, s.params)
	if err != nil {
		return nil, err
	}
	return s.newCeremony(id, sealed, key)
}

func (s *Store) newCeremony(id string, sealed, key []byte) (*Ceremony, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &Ceremony{files: s.files, path: s.Path(id), id: id, sealed: sealed, aead: aead}, nil
}

// Open opens ceremony id's state file and decrypts its state: ErrNotFound
// if there is none, vault.ErrDecrypt (wrapped) for a wrong passphrase,
// ErrTampered if the state does not decrypt, ErrFormat otherwise. It changes
// nothing on disk. The caller Zeroes the state.
func (s *Store) Open(id string) (*Ceremony, *State, error) {
	path := s.Path(id)
	f, err := s.read(id)
	if err != nil {
		return nil, nil, err
	}
	key, err := vault.Open(s.passphrase, Purpose, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the state key: %w", path, err)
	}
	defer clear(key)
	if len(key) != keySize {
		return nil, nil, fmt.Errorf("%s: %w: a %d-byte state key", path, ErrFormat, len(key))
	}
	c, err := s.newCeremony(id, f.Key, key)
	if err != nil {
		return nil, nil, err
	}
	pt, err := c.aead.Open(nil, nil, f.State, chusme.CeremonyStateAD(id))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, ErrTampered)
	}
	defer clear(pt)
	st := new(State)
	if err := strictjson.Decode(pt, st); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %v", path, ErrFormat, err)
	}
	if st.Round != f.Round {
		st.Zero()
		return nil, nil, fmt.Errorf("%s: %w: the file says round %d", path, ErrTampered, f.Round)
	}
	return c, st, nil
}

// Round returns the round ceremony id's state is at (State.Round), as its
// file says in the clear: ErrNotFound if there is none, ErrFormat if the
// file is malformed. It needs no passphrase; Open checks it against the
// sealed state.
func (s *Store) Round(id string) (int, error) {
	f, err := s.read(id)
	return f.Round, err
}

// read reads and decodes ceremony id's state file.
func (s *Store) read(id string) (file, error) {
	path := s.Path(id)
	var data []byte
	var err error
	if s.files != nil {
		data, err = s.files.ReadFile(path)
		if err == nil && len(data) > maxFileSize {
			err = jsonfile.ErrTooLarge
		}
	} else {
		data, err = jsonfile.ReadLimited(path, maxFileSize)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return file{}, ErrNotFound
	case errors.Is(err, jsonfile.ErrTooLarge):
		return file{}, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrFormat, maxFileSize)
	case err != nil:
		return file{}, err
	}
	var f file
	if err := kind.Decode(data, &f, &f.Version); err != nil {
		return file{}, fmt.Errorf("%s: %w", path, err)
	}
	if f.CeremonyID != id {
		return file{}, fmt.Errorf("%s: %w: it is the state of ceremony %q", path, ErrFormat, f.CeremonyID)
	}
	return f, nil
}

// Save seals st and replaces the ceremony's state file with it, atomically
// (a temporary file, fsync, rename).
func (c *Ceremony) Save(st *State) error {
	pt, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ct := c.aead.Seal(nil, nil, pt, chusme.CeremonyStateAD(c.id))
	clear(pt)
	f := file{Version: Version, CeremonyID: c.id, Round: st.Round, Key: c.sealed, State: ct}
	if c.files != nil {
		data, err := jsonfile.Encode(f)
		if err != nil {
			return err
		}
		return c.files.WriteFile(c.path, data)
	}
	return kind.Write(c.path, f, true)
}

// Remove deletes the ceremony's state file; a missing file is no error.
func (c *Ceremony) Remove() error {
	if c.files != nil {
		return c.files.Remove(c.path)
	}
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Path returns the ceremony's state file.
func (c *Ceremony) Path() string { return c.path }
