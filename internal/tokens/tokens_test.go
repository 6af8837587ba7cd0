package tokens

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/testkit"
)

// TestRotationPrePublishes: a rotation publishes the new key in the JWKS at
// once, the old key signs until the new key's NotBefore (the lead, at least
// the JWKS cache lifetime), the new key signs from then on, and the old
// key's tokens stay valid until they expire; a later rotation drops a key
// retired longer than a token lives.
func TestRotationPrePublishes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt-keys.json")
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	kr, err := LoadOrCreateFile(path, t0)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring mode %v, %v", fi.Mode(), err)
	}
	clock := testkit.NewClock(t0)
	is := &Issuer{Keys: kr, Issuer: "https://i.test", Audience: "https://i.test", Now: clock.Now}
	fp := chusme.Fingerprint(make([]byte, 32))
	first := kr.Signing(t0).ID
	kidOf := func() string {
		t.Helper()
		tok, _, err := is.Issue(fp, "s1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := is.Validate(tok); err != nil {
			t.Fatal(err)
		}
		h, _, _ := strings.Cut(tok, ".")
		b, _ := base64.RawURLEncoding.DecodeString(h)
		var head struct{ Kid string }
		json.Unmarshal(b, &head)
		return head.Kid
	}

	clock.Add(time.Minute)
	keep := AccessTTL + Leeway
	next, err := RotateFile(path, clock.Now(), JWKSCacheTTL, keep)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kr.Replace(reloaded)
	var jwks struct{ Keys []struct{ Kid string } }
	json.Unmarshal(kr.JWKS(), &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != first || jwks.Keys[1].Kid != next.ID || next.ID == first {
		t.Fatalf("jwks right after the rotation %+v, want %s and %s", jwks.Keys, first, next.ID)
	}
	if got := kidOf(); got != first {
		t.Fatalf("right after the rotation a token carries %s, want the old %s", got, first)
	}
	clock.Add(JWKSCacheTTL - time.Second)
	old, _, err := is.Issue(fp, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got := kidOf(); got != first {
		t.Fatalf("a second before the new key's time a token carries %s, want the old %s", got, first)
	}
	clock.Add(time.Second)
	if got := kidOf(); got != next.ID {
		t.Fatalf("%s after the rotation a token carries %s, want the new %s", JWKSCacheTTL, got, next.ID)
	}
	clock.Add(AccessTTL - 2*time.Second)
	if _, err := is.Validate(old); err != nil {
		t.Fatalf("the old key's last token before it expires: %v", err)
	}
	clock.Add(Leeway + 2*time.Second)
	if _, err := is.Validate(old); chusme.ErrorCode(err) != chusme.CodeTokenExpired {
		t.Fatalf("the old key's token after it expired: %v", err)
	}

	// A later rotation, once the first key's tokens have all expired, drops it.
	if _, err := RotateFile(path, next.NotBefore.Add(keep), JWKSCacheTTL, keep); err != nil {
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
