package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/jsonfile"
)

// PinStore keeps, per server (issuer) and identity, the head of the
// identity's chain the client last verified. A later chain of that identity
// must extend it (see ErrPeerKey). Its methods may be called concurrently.
type PinStore interface {
	// Load returns the head pinned for identity fp at issuer, and false if
	// none is.
	Load(ctx context.Context, issuer, fp string) (chusme.ChainHead, bool, error)
	// Save pins head for identity fp at issuer, replacing the pin there was.
	Save(ctx context.Context, issuer, fp string, head chusme.ChainHead) error
}

// WithPinStore makes the client keep the chain heads it verified in s. The
// default is a MemoryPinStore, which forgets them with the process; the CLI
// uses a FilePinStore in its config directory.
func WithPinStore(s PinStore) Option {
	return func(c *Client) error {
		if s == nil {
			return errors.New("client: nil pin store")
		}
		c.pins = s
		return nil
	}
}

// pins is what a pin store holds: issuer → fingerprint → head.
type pins map[string]map[string]chusme.ChainHead

func (p pins) get(issuer, fp string) (chusme.ChainHead, bool) {
	h, ok := p[issuer][fp]
	return h, ok
}

func (p pins) set(issuer, fp string, head chusme.ChainHead) {
	if p[issuer] == nil {
		p[issuer] = map[string]chusme.ChainHead{}
	}
	p[issuer][fp] = chusme.ChainHead{Seq: head.Seq, Hash: append(chusme.Bytes(nil), head.Hash...)}
}

// MemoryPinStore keeps pins in memory. The zero value is ready to use.
type MemoryPinStore struct {
	mu sync.Mutex
	p  pins
}

// Load implements PinStore.
func (s *MemoryPinStore) Load(_ context.Context, issuer, fp string) (chusme.ChainHead, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.p.get(issuer, fp)
	return h, ok, nil
}

// Save implements PinStore.
func (s *MemoryPinStore) Save(_ context.Context, issuer, fp string, head chusme.ChainHead) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p == nil {
		s.p = pins{}
	}
	s.p.set(issuer, fp, head)
	return nil
}

// FilePinStore keeps pins in one JSON file readable by its owner only (mode
// 0600), written atomically. The CLI uses <config dir>/pins.json. Every Load
// reads the file and every Save rewrites it from what the file holds, so
// processes sharing it see each other's pins; it does not lock the file
// (two processes saving at the same moment may lose one pin, never write a
// wrong one).
type FilePinStore struct {
	path string
	mu   sync.Mutex
}

// pinFile is the content of a FilePinStore's file.
type pinFile struct {
	Version int  `json:"version"`
	Pins    pins `json:"pins"` // issuer → fingerprint → head
}

// pinFileVersion is the version of a FilePinStore's file.
const pinFileVersion = 1

// ErrPinFile means a FilePinStore's file is not one this version reads:
// malformed, of another version, or too large.
var ErrPinFile = errors.New("client: malformed pin file")

// pinFileKind is a FilePinStore's file format, for jsonfile.
var pinFileKind = jsonfile.Kind{Version: pinFileVersion, MaxSize: maxPinFileSize, Mode: FileMode, ErrFormat: ErrPinFile}

// maxPinFileSize bounds what a FilePinStore reads: 8 MiB, tens of
// thousands of pins.
const maxPinFileSize = 8 << 20

// NewFilePinStore returns a store keeping pins in the file at path. The file
// and its directory (mode 0700) are created on the first Save.
func NewFilePinStore(path string) *FilePinStore {
	return &FilePinStore{path: path}
}

// Path returns the file's path.
func (s *FilePinStore) Path() string { return s.path }

// read returns the file's pins; a missing file holds none.
func (s *FilePinStore) read() (pins, error) {
	var f pinFile
	if _, err := pinFileKind.Load(s.path, &f, &f.Version); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	if f.Pins == nil {
		f.Pins = pins{}
	}
	return f.Pins, nil
}

// Load implements PinStore.
func (s *FilePinStore) Load(_ context.Context, issuer, fp string) (chusme.ChainHead, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.read()
	if err != nil {
		return chusme.ChainHead{}, false, err
	}
	h, ok := p.get(issuer, fp)
	return h, ok, nil
}

// Save implements PinStore.
func (s *FilePinStore) Save(_ context.Context, issuer, fp string, head chusme.ChainHead) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.read()
	if err != nil {
		return err
	}
	p.set(issuer, fp, head)
	return pinFileKind.Save(s.path, pinFile{Version: pinFileVersion, Pins: p})
}

// Fingerprints returns every fingerprint pinned in the file, for any
// issuer, sorted: the identities whose chains this client verified (not
// the group keys whose generations it pinned).
func (s *FilePinStore) Fingerprints() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.read()
	if err != nil {
		return nil, err
	}
	var fps []string
	for _, byFP := range p {
		for fp := range byFP {
			if chusme.ValidFingerprint(fp) {
				fps = append(fps, fp)
			}
		}
	}
	slices.Sort(fps)
	return slices.Compact(fps), nil
}
