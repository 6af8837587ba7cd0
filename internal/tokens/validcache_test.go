package tokens

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// A token served from the validation cache is still refused once it
// expires, before its nbf, and once its key leaves the keyring.
func TestValidatedTokensAreRechecked(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	kr, err := LoadOrCreateFile(filepath.Join(t.TempDir(), "k.json"), t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	is := &Issuer{Keys: kr, Issuer: "https://i.test", Audience: "https://i.test", Now: func() time.Time { return now }}
	tok, _, err := is.Issue(chusme.Fingerprint(make([]byte, 32)), "s1")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second one is a cache hit
		if c, err := is.Validate(tok); err != nil || c.SessionID != "s1" {
			t.Fatalf("fresh token: %v", err)
		}
	}
	if is.valid.get(tok) == nil {
		t.Fatal("a valid token was not cached")
	}
	now = t0.Add(-Leeway - time.Second)
	if _, err := is.Validate(tok); chusme.ErrorCode(err) != chusme.CodeTokenInvalid {
		t.Fatalf("before nbf: %v, want token_invalid", err)
	}
	now = t0.Add(AccessTTL + Leeway)
	if _, err := is.Validate(tok); chusme.ErrorCode(err) != chusme.CodeTokenExpired {
		t.Fatalf("expired: %v, want token_expired", err)
	}
	now = t0.Add(time.Minute)
	other, err := LoadOrCreateFile(filepath.Join(t.TempDir(), "other.json"), t0)
	if err != nil {
		t.Fatal(err)
	}
	kr.Replace(other)
	if _, err := is.Validate(tok); chusme.ErrorCode(err) != chusme.CodeTokenInvalid {
		t.Fatalf("key gone: %v, want token_invalid", err)
	}
	if _, err := is.Validate(tok + "x"); chusme.ErrorCode(err) != chusme.CodeTokenInvalid {
		t.Fatalf("altered token: %v, want token_invalid", err)
	}
}
