// Package tokens issues and validates ChusMe's access tokens: JWTs signed
// with the server's Ed25519 keys (EdDSA), published as a JWKS.
//
// The signing keys live in a keyring file (mode 0600) in the data directory,
// or come from the environment. Rotating adds a key that signs from a later
// time on, so that it is published in the JWKS for at least the JWKS cache
// lifetime before any token carries it; the previous keys stay published
// until every token they signed has expired, so a rotation logs nobody out.
package tokens

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/chusme/chusme/internal/secrets"
)

// keyringVersion is the version of the keyring file format.
const keyringVersion = 1

// JWKSCacheTTL is how long a JWKS document may be cached (its
// Cache-Control max-age): a new key is published at least this long before
// it signs.
const JWKSCacheTTL = 300 * time.Second

// Key is one JWT signing key.
type Key struct {
	ID        string // RFC 7638 JWK thumbprint of the public key
	private   ed25519.PrivateKey
	CreatedAt time.Time
	NotBefore time.Time // it signs from then on (until a later key's NotBefore); published before
	RetiredAt time.Time // when a later key took over signing; zero for the newest key
}

// Public returns the key's public half.
func (k Key) Public() ed25519.PublicKey { return k.private.Public().(ed25519.PublicKey) }

// String redacts the private key.
func (k Key) String() string { return "tokens.Key{" + k.ID + "}" }

// Keyring holds the signing key and the retired keys still published. It is
// safe for concurrent use; Replace swaps the whole set at once.
type Keyring struct {
	mu   sync.RWMutex
	keys []Key // oldest first, NotBefore ascending
}

// Signing returns the key that signs new tokens at now: the newest key
// whose NotBefore has come (the oldest key if none has).
func (kr *Keyring) Signing(now time.Time) Key {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for i := len(kr.keys) - 1; i > 0; i-- {
		if !now.Before(kr.keys[i].NotBefore) {
			return kr.keys[i]
		}
	}
	return kr.keys[0]
}

// Lookup returns the key with the given id.
func (kr *Keyring) Lookup(kid string) (Key, bool) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for _, k := range kr.keys {
		if k.ID == kid {
			return k, true
		}
	}
	return Key{}, false
}

// Keys returns a copy of every key in the ring, oldest first.
func (kr *Keyring) Keys() []Key {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return append([]Key(nil), kr.keys...)
}

// Replace swaps in the keys of another ring (after the file changed).
func (kr *Keyring) Replace(other *Keyring) {
	keys := other.Keys()
	kr.mu.Lock()
	kr.keys = keys
	kr.mu.Unlock()
}

// keyFile is the JSON form of a keyring file.
type keyFile struct {
	Version int       `json:"version"`
	Keys    []keyJSON `json:"keys"`
}

type keyJSON struct {
	ID        string    `json:"kid"`
	Seed      string    `json:"seed"` // base64url Ed25519 seed
	CreatedAt time.Time `json:"created_at"`
	NotBefore time.Time `json:"not_before,omitzero"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key,
// the key id ChusMe uses.
func Thumbprint(pub ed25519.PublicKey) string {
	// Members in lexicographic order, no white space (RFC 7638 §3).
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newKey(seed []byte, created time.Time) Key {
	priv := ed25519.NewKeyFromSeed(seed)
	return Key{ID: Thumbprint(priv.Public().(ed25519.PublicKey)), private: priv, CreatedAt: created.UTC()}
}

// FromSeed returns a keyring of one key made from a 32-byte seed (a key
// given in the environment).
func FromSeed(seed []byte) (*Keyring, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("tokens: a signing key seed is 32 bytes")
	}
	return &Keyring{keys: []Key{newKey(seed, time.Unix(0, 0))}}, nil
}

// LoadFile reads a keyring file.
func LoadFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokens: keyring %s is not valid JSON", path)
	}
	if f.Version != keyringVersion || len(f.Keys) == 0 {
		return nil, fmt.Errorf("tokens: keyring %s: unsupported version or no keys", path)
	}
	kr := &Keyring{}
	for i, kj := range f.Keys {
		seed, err := base64.RawURLEncoding.DecodeString(kj.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("tokens: keyring %s: key %d is malformed", path, i)
		}
		k := newKey(seed, kj.CreatedAt)
		clear(seed)
		if k.ID != kj.ID {
			return nil, fmt.Errorf("tokens: keyring %s: key %d does not match its kid", path, i)
		}
		k.NotBefore, k.RetiredAt = kj.NotBefore, kj.RetiredAt
		kr.keys = append(kr.keys, k)
	}
	return kr, nil
}

// LoadOrCreateFile reads the keyring file at path, creating it with one new
// key (mode 0600) when it does not exist.
func LoadOrCreateFile(path string, now time.Time) (*Keyring, error) {
	kr, err := LoadFile(path)
	if !errors.Is(err, os.ErrNotExist) {
		return kr, err
	}
	kr = &Keyring{keys: []Key{generate(now)}}
	if err := kr.save(path); err != nil {
		return nil, err
	}
	return kr, nil
}

// RotateFile adds a new key to the keyring file at path that signs from
// now+lead on (lead: at least JWKSCacheTTL, plus however long servers take
// to read the file), until when the current key keeps signing; the keys it
// supersedes are retired then. Keys retired longer than keep (the longest a
// token lives, plus clock skew) are dropped, since nothing they signed is
// still valid.
func RotateFile(path string, now time.Time, lead, keep time.Duration) (Key, error) {
	kr, err := LoadFile(path)
	if err != nil {
		return Key{}, err
	}
	next := generate(now)
	next.NotBefore = next.CreatedAt.Add(lead)
	var kept []Key
	for _, k := range kr.keys {
		if k.RetiredAt.IsZero() {
			k.RetiredAt = next.NotBefore
		}
		if now.Sub(k.RetiredAt) < keep {
			kept = append(kept, k)
		}
	}
	kr.keys = append(kept, next)
	return next, kr.save(path)
}

func generate(now time.Time) Key {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	k := newKey(seed, now)
	clear(seed)
	return k
}

// save writes the keyring atomically with mode 0600.
func (kr *Keyring) save(path string) error {
	f := keyFile{Version: keyringVersion}
	for _, k := range kr.Keys() {
		f.Keys = append(f.Keys, keyJSON{
			ID:        k.ID,
			Seed:      base64.RawURLEncoding.EncodeToString(k.private.Seed()),
			CreatedAt: k.CreatedAt,
			NotBefore: k.NotBefore,
			RetiredAt: k.RetiredAt,
		})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return secrets.WriteFile(path, data)
}
