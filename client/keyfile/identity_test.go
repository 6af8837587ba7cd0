package keyfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/testkit"
)

func TestSaveForRotatedKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	genesis := testkit.NewKey(t)
	rotated := testkit.NewKey(t)
	fp := testkit.Fingerprint(genesis)
	pass := []byte("pass")
	if err := SaveFor(path, "not a fingerprint", rotated, pass, vault.LowCostParams, false); err == nil {
		t.Fatal("SaveFor accepted a bad fingerprint")
	}
	if err := SaveFor(path, fp, rotated, pass, vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}
	kf, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if kf.IdentityFingerprint() != fp || kf.Fingerprint != testkit.Fingerprint(rotated) {
		t.Fatalf("key file %+v", kf)
	}
	key, err := kf.Open(pass)
	if err != nil || !bytes.Equal(key, rotated) {
		t.Fatalf("Open = %v", err)
	}
	if err := SaveFor(path, fp, rotated, pass, vault.LowCostParams, false); !errors.Is(err, ErrExists) {
		t.Fatalf("SaveFor over an existing file = %v", err)
	}
	// A genesis key file names no separate identity.
	plain := filepath.Join(t.TempDir(), "g.key")
	if err := Save(plain, genesis, pass, vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	if g, _ := Read(plain); g.Identity != "" || g.IdentityFingerprint() != fp {
		t.Fatalf("genesis key file %+v", g)
	}
	// A malformed identity is refused.
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), fp, "xyz", 1)
	if _, err := Parse([]byte(bad)); !errors.Is(err, ErrFormat) {
		t.Fatalf("Parse of a bad identity = %v", err)
	}
}
