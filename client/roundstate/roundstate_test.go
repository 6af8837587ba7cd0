package roundstate_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/client/vault"
)

const (
	id    = "0123456789abcdef0123456789abcdef"
	other = "fedcba9876543210fedcba9876543210"
)

func TestSaveOpen(t *testing.T) {
	dir := t.TempDir()
	s := roundstate.New(dir, []byte("pass"), vault.LowCostParams)
	if _, _, err := s.Open(id); !errors.Is(err, roundstate.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of no state = %v, want ErrNotFound", err)
	}
	c, err := s.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{0x5a}, 32)
	for round := 1; round <= 2; round++ {
		if err := c.Save(&roundstate.State{Kind: chusme.KindSign, Round: round, SigningNonces: secret, Commitment: []byte{1, 2}}); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(s.Path(id))
	if err != nil || fi.Mode().Perm() != roundstate.Mode {
		t.Fatalf("state file: %v, mode %v", err, fi.Mode())
	}
	raw, _ := os.ReadFile(s.Path(id))
	if bytes.Contains(raw, secret) || strings.Contains(string(raw), "nonces") {
		t.Fatal("the state file shows its state in the clear")
	}
	if r, err := s.Round(id); err != nil || r != 2 {
		t.Fatalf("Round = %d, %v; want 2", r, err)
	}
	_, st, err := s.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kind != chusme.KindSign || st.Round != 2 || !bytes.Equal(st.SigningNonces, secret) {
		t.Fatalf("Open = %+v", st)
	}
	st.Zero()
	if !bytes.Equal(st.SigningNonces, make([]byte, 32)) {
		t.Fatal("Zero left the nonces")
	}

	// A wrong passphrase, and another ceremony's file, are refused.
	if _, _, err := roundstate.New(dir, []byte("wrong"), vault.LowCostParams).Open(id); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("Open with a wrong passphrase = %v", err)
	}
	if err := os.WriteFile(s.Path(other), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(other); !errors.Is(err, roundstate.ErrFormat) {
		t.Fatalf("Open of another ceremony's file = %v, want ErrFormat", err)
	}
	relabelled := bytes.Replace(raw, []byte(id), []byte(other), 1)
	if err := os.WriteFile(s.Path(other), relabelled, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(other); !errors.Is(err, roundstate.ErrTampered) {
		t.Fatalf("Open of a state relabelled for another ceremony = %v, want ErrTampered", err)
	}
	if err := os.WriteFile(s.Path(id), bytes.Replace(raw, []byte(`"round": 2`), []byte(`"round": 1`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(id); !errors.Is(err, roundstate.ErrTampered) {
		t.Fatalf("Open of a file whose clear round was changed = %v, want ErrTampered", err)
	}
	if err := os.WriteFile(s.Path(id), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(other), []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(other); !errors.Is(err, roundstate.ErrFormat) {
		t.Fatalf("Open of a malformed file = %v, want ErrFormat", err)
	}

	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatalf("a second Remove: %v", err)
	}
	if _, _, err := s.Open(id); !errors.Is(err, roundstate.ErrNotFound) {
		t.Fatalf("Open after Remove = %v", err)
	}
}

// memFiles is a Files in memory.
type memFiles map[string][]byte

func (m memFiles) ReadFile(name string) ([]byte, error) {
	data, ok := m[name]
	if !ok {
		return nil, os.ErrNotExist
	}
	return data, nil
}

func (m memFiles) WriteFile(name string, data []byte) error { m[name] = bytes.Clone(data); return nil }

func (m memFiles) Remove(name string) error { delete(m, name); return nil }

// TestNewIn keeps a state in a Files: the same file as on disk, opened
// from there by a store of the same Files, refused under another
// passphrase, and gone after Remove.
func TestNewIn(t *testing.T) {
	files := memFiles{}
	s := roundstate.NewIn(files, []byte("pass"), vault.LowCostParams)
	if _, _, err := s.Open(id); !errors.Is(err, roundstate.ErrNotFound) {
		t.Fatalf("Open of no state = %v, want ErrNotFound", err)
	}
	c, err := s.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{0x5a}, 32)
	if err := c.Save(&roundstate.State{Kind: chusme.KindDKG, Round: 1, Round1Secret: secret}); err != nil {
		t.Fatal(err)
	}
	raw, ok := files[id+roundstate.Suffix]
	if !ok || len(files) != 1 || bytes.Contains(raw, secret) || !bytes.Contains(raw, []byte(`"ceremony_id": "`+id+`"`)) {
		t.Fatalf("the files after Save: %q", files)
	}
	// The bytes are a state file: a directory store opens them.
	dir := t.TempDir()
	if err := os.WriteFile(roundstate.New(dir, nil, vault.Params{}).Path(id), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, st, err := roundstate.New(dir, []byte("pass"), vault.LowCostParams).Open(id); err != nil || !bytes.Equal(st.Round1Secret, secret) {
		t.Fatalf("the Files' state opened from a directory: %v", err)
	}
	_, st, err := roundstate.NewIn(files, []byte("pass"), vault.LowCostParams).Open(id)
	if err != nil || st.Round != 1 || !bytes.Equal(st.Round1Secret, secret) {
		t.Fatalf("Open = %+v, %v", st, err)
	}
	if _, _, err := roundstate.NewIn(files, []byte("wrong"), vault.LowCostParams).Open(id); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("Open with a wrong passphrase = %v", err)
	}
	if err := c.Remove(); err != nil || len(files) != 0 {
		t.Fatalf("Remove: %v, files %q", err, files)
	}
}
