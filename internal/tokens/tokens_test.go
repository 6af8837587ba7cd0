package tokens

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

func TestKeyringFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt-keys.json")
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	kr, err := LoadOrCreateFile(path, t0)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v, %v", fi.Mode(), err)
	}
	now := t0
	is := &Issuer{Keys: kr, Issuer: "https://i.test", Audience: "https://i.test", Now: func() time.Time { return now }}
	fp := chusme.Fingerprint(make([]byte, 32))
	old, _, err := is.Issue(fp, "s1")
	if err != nil {
		t.Fatal(err)
	}
	first := kr.Signing().ID

	// Rotate: the new key signs, the old one still validates its tokens.
	keep := AccessTTL + Leeway
	next, err := RotateFile(path, t0.Add(time.Minute), keep)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kr.Replace(reloaded)
	if kr.Signing().ID != next.ID || next.ID == first {
		t.Fatalf("signing key %s after rotation, want new %s", kr.Signing().ID, next.ID)
	}
	now = t0.Add(2 * time.Minute)
	if _, err := is.Validate(old); err != nil {
		t.Fatalf("token of the retired key refused: %v", err)
	}
	var jwks struct{ Keys []struct{ Kid string } }
	json.Unmarshal(kr.JWKS(), &jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("jwks has %d keys, want 2", len(jwks.Keys))
	}

	// A later rotation, once the first key's tokens have all expired, drops it.
	if _, err := RotateFile(path, t0.Add(time.Minute+keep), keep); err != nil {
		t.Fatal(err)
	}
	reloaded, _ = LoadFile(path)
	kr.Replace(reloaded)
	if _, ok := kr.Lookup(first); ok {
		t.Fatal("a key retired longer than a token lives is still published")
	}
	if _, ok := kr.Lookup(next.ID); !ok {
		t.Fatal("the just-retired key was dropped")
	}
}

func TestLoadFileRejectsTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.json")
	if _, err := LoadOrCreateFile(path, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	var f keyFile
	json.Unmarshal(data, &f)
	f.Keys[0].ID = "other"
	data, _ = json.Marshal(f)
	os.WriteFile(path, data, 0o600)
	if _, err := LoadFile(path); err == nil {
		t.Fatal("a keyring whose kid does not match its key loaded")
	}
}

func TestThumbprintRFC7638(t *testing.T) {
	// RFC 8037 Appendix A.3: the thumbprint of the Appendix A.2 public key.
	pub := []byte{0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a}
	if got, want := Thumbprint(pub), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}
