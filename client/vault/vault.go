// Package vault seals small secrets under a passphrase: the identity key file
// today, key backups and FROST key shares later.
//
// A sealed vault is a header followed by an AES-256-GCM ciphertext:
//
//	magic     "CHUSMEV1"                      8 bytes
//	version   1                               1 byte
//	purpose   length (1..64), then the bytes  1+n bytes
//	time      Argon2id passes                 4 bytes, big-endian
//	memory    Argon2id memory in KiB          4 bytes, big-endian
//	threads   Argon2id parallelism            1 byte
//	salt      random                          16 bytes
//	sealed    nonce ‖ ciphertext ‖ tag        12 + len(plaintext) + 16 bytes
//
// The key is derived as passphrase → Argon2id(salt, time, memory, threads) →
// HKDF-SHA-256 with info "chusme/v1/vault/" (chusme.LabelVaultKey) + purpose,
// so that one passphrase never yields the same key for two purposes. The
// whole header is bound into the ciphertext as associated data: changing any
// header byte (a cheaper parameter set, another purpose) makes Open fail.
//
// Open bounds the parameters it accepts (see MaxTime, MaxMemoryKiB,
// MaxThreads), so that a hostile blob can't make the client exhaust its
// memory or spin for hours.
//
// Derive once, seal many: a Key (DeriveKey, or OpenKey of an existing vault)
// is the header and the derived AES key. Its Seal writes vaults that Open
// opens with the passphrase, all with its header (one salt) and each with a
// fresh random nonce, so whoever keeps the Key (MarshalBinary: header ‖ key,
// itself sealed under another passphrase) re-seals without the passphrase
// and without another Argon2id derivation.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/chusme/chusme"
	"golang.org/x/crypto/argon2"
)

// Magic starts every sealed vault.
const Magic = "CHUSMEV1"

// Version is the format version written by Seal and the only one Open reads.
const Version = 1

// SaltSize is the length of the random Argon2id salt, in bytes.
const SaltSize = 16

// Bounds on the Argon2id parameters. Seal refuses parameters outside them,
// and Open refuses a blob that asks for more, before doing any work.
const (
	// MaxTime is the largest number of Argon2id passes accepted.
	MaxTime = 20
	// MaxMemoryKiB is the largest Argon2id memory accepted: 1 GiB, in KiB.
	MaxMemoryKiB = 1 << 20
	// MaxThreads is the largest Argon2id parallelism accepted.
	MaxThreads = 64
	// MaxPurposeLen is the longest purpose accepted, in bytes.
	MaxPurposeLen = 64
)

// Errors returned by Seal and Open.
var (
	// ErrDecrypt means the passphrase is wrong, the purpose is not the one
	// the vault was sealed for, or the vault was altered.
	ErrDecrypt = errors.New("vault: wrong passphrase or corrupted vault")
	// ErrFormat means the input is not a sealed vault this version reads,
	// or it asks for Argon2id parameters beyond the bounds.
	ErrFormat = errors.New("vault: malformed vault")
	// ErrParams means Seal was given Argon2id parameters beyond the bounds.
	ErrParams = errors.New("vault: Argon2id parameters out of bounds")
	// ErrPurpose means the purpose is empty, too long or has characters
	// other than a-z, 0-9, '-', '_', '.' and '/'.
	ErrPurpose = errors.New("vault: invalid purpose")
	// ErrOtherKey means Key.Open was given a vault sealed under another
	// key: its header (purpose, parameters or salt) is not the key's.
	ErrOtherKey = errors.New("vault: sealed under another key (another salt, parameters or purpose)")
)

// Params are the Argon2id cost parameters, stored in the vault's header.
type Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory, in KiB
	Threads   uint8  // parallelism
}

// DefaultParams are the parameters Seal uses when given the zero Params:
// 3 passes over 64 MiB with 4 threads (RFC 9106's second recommendation).
var DefaultParams = Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// LowCostParams are cheap parameters (1 pass over 64 KiB) for tests only.
// They protect a weak passphrase against nothing: never use them for real
// secrets. Seal accepts them only because the caller passes them explicitly.
var LowCostParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

// limits bounds the parameters Open accepts. Tests lower them so that fuzzing
// and bit flipping stay cheap.
type limits struct {
	time, memoryKiB uint32
	threads         uint8
}

var defaultLimits = limits{time: MaxTime, memoryKiB: MaxMemoryKiB, threads: MaxThreads}

// check reports whether p is within l and Argon2id's own minimum (8 KiB of
// memory per thread).
func (l limits) check(p Params) bool {
	return p.Time >= 1 && p.Time <= l.time &&
		p.Threads >= 1 && p.Threads <= l.threads &&
		p.MemoryKiB >= 8*uint32(p.Threads) && p.MemoryKiB <= l.memoryKiB
}

// Seal encrypts plaintext under passphrase for purpose with Argon2id
// parameters p (DefaultParams if p is the zero value). The purpose names what
// the vault holds ("identity-key", "backup", …); Open must be given the same.
func Seal(passphrase []byte, purpose string, plaintext []byte, p Params) ([]byte, error) {
	k, err := DeriveKey(passphrase, purpose, p)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	return k.Seal(plaintext), nil
}

// Key is a vault key derived once (DeriveKey, OpenKey): the header of the
// vaults it seals and their AES-256 key. It is secret: Wipe it when done.
type Key struct {
	header []byte
	key    []byte
	aead   cipher.AEAD
}

// keySize is the length of a vault's AES-256 key.
const keySize = 32

// DeriveKey derives the key of a new vault for purpose under passphrase,
// with a fresh random salt and the Argon2id parameters p (DefaultParams if
// p is the zero value). Every vault its Seal makes opens with Open and the
// passphrase.
func DeriveKey(passphrase []byte, purpose string, p Params) (*Key, error) {
	if p == (Params{}) {
		p = DefaultParams
	}
	if !defaultLimits.check(p) {
		return nil, ErrParams
	}
	if !validPurpose(purpose) {
		return nil, ErrPurpose
	}
	salt := make([]byte, SaltSize)
	rand.Read(salt) // never fails (crypto/rand panics instead)
	return deriveHeaderKey(passphrase, appendHeader(nil, purpose, p, salt))
}

// deriveHeaderKey derives the key of the vaults with header hdr (a valid
// one) under passphrase.
func deriveHeaderKey(passphrase, hdr []byte) (*Key, error) {
	h, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	k := &Key{header: hdr[:h.size:h.size]}
	secretDo(func() {
		k.key, err = deriveKey(passphrase, h.purpose, h.params, h.salt)
		if err == nil {
			err = k.init()
		}
	})
	if err != nil {
		k.Wipe()
		return nil, fmt.Errorf("vault: deriving key: %w", err)
	}
	return k, nil
}

// init makes k's AES-256-GCM with random nonces from k.key.
func (k *Key) init() error {
	block, err := aes.NewCipher(k.key)
	if err != nil {
		return err
	}
	k.aead, err = cipher.NewGCMWithRandomNonce(block)
	return err
}

// Seal encrypts plaintext into a vault with k's header and a fresh random
// nonce, as Seal does with the passphrase k was derived from.
func (k *Key) Seal(plaintext []byte) []byte {
	return k.aead.Seal(bytes.Clone(k.header), nil, plaintext, k.header)
}

// Open decrypts a vault sealed under k: ErrOtherKey if its header is not
// k's, ErrDecrypt if it was altered, ErrFormat if it is not a vault.
func (k *Key) Open(sealed []byte) ([]byte, error) {
	if _, err := parseHeader(sealed); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(sealed, k.header) {
		return nil, ErrOtherKey
	}
	return k.open(sealed)
}

// open decrypts sealed, whose header is k's.
func (k *Key) open(sealed []byte) ([]byte, error) {
	header, ct := sealed[:len(k.header)], sealed[len(k.header):]
	if len(ct) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, ErrFormat
	}
	pt, err := k.aead.Open(nil, nil, ct, header)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Purpose returns the purpose k seals for.
func (k *Key) Purpose() string {
	h, _ := parseHeader(k.header) // valid: checked when k was made
	return h.purpose
}

// MarshalBinary returns k's key material: its vault header followed by the
// 32-byte AES key. It is secret: seal it (under another passphrase) before
// storing it.
func (k *Key) MarshalBinary() ([]byte, error) {
	return append(bytes.Clone(k.header), k.key...), nil
}

// UnmarshalBinary sets k from key material made by MarshalBinary. It
// returns ErrFormat for anything else, or a header beyond the bounds.
func (k *Key) UnmarshalBinary(b []byte) error {
	h, err := parseHeader(b)
	if err != nil || !defaultLimits.check(h.params) || len(b) != h.size+keySize {
		return ErrFormat
	}
	k.Wipe()
	k.header, k.key = bytes.Clone(b[:h.size]), bytes.Clone(b[h.size:])
	return k.init()
}

// Wipe overwrites k's copy of the key (the AES key schedule inside it can't
// be).
func (k *Key) Wipe() {
	if k != nil {
		clear(k.key)
	}
}

// Open decrypts a vault made by Seal (or Key.Seal). It returns ErrDecrypt
// if the passphrase or the purpose is wrong or the vault was altered, and
// ErrFormat if sealed is not a vault or asks for parameters beyond the
// bounds. On error the plaintext is nil.
func Open(passphrase []byte, purpose string, sealed []byte) ([]byte, error) {
	k, pt, err := open(passphrase, purpose, sealed, defaultLimits)
	k.Wipe()
	return pt, err
}

// OpenKey opens a vault as Open does and also returns the key it was sealed
// under, whose Seal makes vaults with the same header (salt, parameters):
// what a caller keeps to re-seal the vault later without the passphrase.
// The caller Wipes the key.
func OpenKey(passphrase []byte, purpose string, sealed []byte) (*Key, []byte, error) {
	k, pt, err := open(passphrase, purpose, sealed, defaultLimits)
	if err != nil {
		k.Wipe()
		return nil, nil, err
	}
	return k, pt, nil
}

func open(passphrase []byte, purpose string, sealed []byte, l limits) (*Key, []byte, error) {
	h, err := parseHeader(sealed)
	if err != nil {
		return nil, nil, err
	}
	if !l.check(h.params) {
		return nil, nil, ErrFormat
	}
	if h.purpose != purpose {
		// Sealed for something else: the key would differ anyway, so save
		// the Argon2id work and answer as a failed decryption would.
		return nil, nil, ErrDecrypt
	}
	k, err := deriveHeaderKey(passphrase, bytes.Clone(sealed[:h.size]))
	if err != nil {
		return nil, nil, err
	}
	pt, err := k.open(sealed)
	return k, pt, err
}

// Purpose returns the purpose recorded in a vault's header without
// decrypting it, or ErrFormat.
func Purpose(sealed []byte) (string, error) {
	h, err := parseHeader(sealed)
	if err != nil {
		return "", err
	}
	return h.purpose, nil
}

// header is a parsed vault header; size is its length in bytes.
type header struct {
	purpose string
	params  Params
	salt    []byte
	size    int
}

func appendHeader(b []byte, purpose string, p Params, salt []byte) []byte {
	b = append(b, Magic...)
	b = append(b, Version, byte(len(purpose)))
	b = append(b, purpose...)
	b = binary.BigEndian.AppendUint32(b, p.Time)
	b = binary.BigEndian.AppendUint32(b, p.MemoryKiB)
	b = append(b, p.Threads)
	return append(b, salt...)
}

func parseHeader(b []byte) (header, error) {
	var h header
	rest, ok := bytes.CutPrefix(b, []byte(Magic))
	if !ok || len(rest) < 2 || rest[0] != Version {
		return h, ErrFormat
	}
	n := int(rest[1])
	rest = rest[2:]
	if len(rest) < n+4+4+1+SaltSize {
		return h, ErrFormat
	}
	h.purpose = string(rest[:n])
	if !validPurpose(h.purpose) {
		return h, ErrFormat
	}
	rest = rest[n:]
	h.params.Time = binary.BigEndian.Uint32(rest)
	h.params.MemoryKiB = binary.BigEndian.Uint32(rest[4:])
	h.params.Threads = rest[8]
	h.salt = rest[9 : 9+SaltSize]
	h.size = len(Magic) + 2 + n + 9 + SaltSize
	return h, nil
}

func validPurpose(s string) bool {
	if len(s) == 0 || len(s) > MaxPurposeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' && c != '/' {
			return false
		}
	}
	return true
}

// deriveKey derives the purpose's 256-bit AES key: Argon2id(passphrase, salt,
// p) gives 32 bytes, and HKDF-SHA-256 (no salt, info chusme.LabelVaultKey +
// purpose) expands them. The caller wipes the key.
func deriveKey(passphrase []byte, purpose string, p Params, salt []byte) ([]byte, error) {
	master := argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, 32)
	defer clear(master)
	return hkdf.Key(sha256.New, master, nil, chusme.LabelVaultKey+purpose, 32)
}
