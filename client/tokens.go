package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chusme/chusme/client/internal/atomicfile"
	"github.com/chusme/chusme/strictjson"
)

// Tokens are a login session's credentials as the client keeps them.
type Tokens struct {
	AccessToken     string    `json:"access_token"`      // JWT sent as the bearer token
	RefreshToken    string    `json:"refresh_token"`     // opaque, single use
	SessionID       string    `json:"session_id"`        // the session (refresh family)
	Fingerprint     string    `json:"fingerprint"`       // the identity logged in
	AccessExpiresAt time.Time `json:"access_expires_at"` // when AccessToken expires
	// Server is the base URL of the server that issued the tokens. A client
	// of another server refuses to send them (so that pointing a client at
	// another server never leaks them); empty means unchecked.
	Server string `json:"server,omitempty"`
}

// TokenStore keeps a client's tokens between calls (and, for a persistent
// store, between processes). Its methods may be called concurrently.
type TokenStore interface {
	// Load returns the stored tokens, or the zero Tokens and no error if
	// none are stored.
	Load(ctx context.Context) (Tokens, error)
	// Save replaces the stored tokens.
	Save(ctx context.Context, t Tokens) error
	// Clear forgets the stored tokens; clearing an empty store is no error.
	Clear(ctx context.Context) error
}

// MemoryTokenStore keeps tokens in memory. The zero value is ready to use.
type MemoryTokenStore struct {
	mu sync.Mutex
	t  Tokens
}

// Load implements TokenStore.
func (s *MemoryTokenStore) Load(context.Context) (Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t, nil
}

// Save implements TokenStore.
func (s *MemoryTokenStore) Save(_ context.Context, t Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t = t
	return nil
}

// Clear implements TokenStore.
func (s *MemoryTokenStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t = Tokens{}
	return nil
}

// FileTokenStore keeps tokens in a JSON file readable by its owner only
// (mode 0600), written atomically. The CLI uses <config dir>/session.json.
// It does not lock the file: two processes refreshing at the same moment
// rely on the server's grace period for the previous refresh token.
type FileTokenStore struct {
	path string
	mu   sync.Mutex
}

// FileMode is the permission of a FileTokenStore's file.
const FileMode fs.FileMode = 0o600

// maxSessionFileSize bounds what a FileTokenStore reads.
const maxSessionFileSize = 64 << 10

// NewFileTokenStore returns a store keeping tokens in the file at path. The
// file and its directory (mode 0700) are created on the first Save.
func NewFileTokenStore(path string) *FileTokenStore {
	return &FileTokenStore{path: path}
}

// Path returns the file's path.
func (s *FileTokenStore) Path() string { return s.path }

// Load implements TokenStore. A missing file means no tokens.
func (s *FileTokenStore) Load(context.Context) (Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Tokens{}, nil
	}
	if err != nil {
		return Tokens{}, err
	}
	if len(data) > maxSessionFileSize {
		return Tokens{}, fmt.Errorf("%s: file too large", s.path)
	}
	var t Tokens
	if err := strictjson.Decode(data, &t); err != nil {
		return Tokens{}, fmt.Errorf("%s: %w", s.path, err)
	}
	return t, nil
}

// Save implements TokenStore.
func (s *FileTokenStore) Save(_ context.Context, t Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(s.path, append(data, '\n'), FileMode, true)
}

// Clear implements TokenStore.
func (s *FileTokenStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
