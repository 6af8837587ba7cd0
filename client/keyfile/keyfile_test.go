package keyfile

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/testkit"
)

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	key := testkit.NewKey(t)
	if err := Save(path, key, []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != Mode {
		t.Fatalf("mode = %v, want %v", fi.Mode().Perm(), Mode)
	}
	got, err := Load(path, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(key) {
		t.Fatal("loaded key differs")
	}
	kf, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if kf.Fingerprint != testkit.Fingerprint(key) {
		t.Fatalf("fingerprint = %s", kf.Fingerprint)
	}
}

func TestSaveRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	first := testkit.NewKey(t)
	if err := Save(path, first, []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	err := Save(path, testkit.NewKey(t), []byte("pw"), vault.LowCostParams)
	if !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Save over existing = %v, want ErrExists", err)
	}
	if got, err := Load(path, []byte("pw")); err != nil || !got.Equal(first) {
		t.Fatalf("existing key changed: %v", err)
	}
	second := testkit.NewKey(t)
	if err := Overwrite(path, second, []byte("pw2"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(path, []byte("pw2")); err != nil || !got.Equal(second) {
		t.Fatalf("Overwrite did not replace the key: %v", err)
	}
}

func TestLoadWrongPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	if err := Save(path, testkit.NewKey(t), []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, []byte("nope")); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("Load = %v, want vault.ErrDecrypt", err)
	}
}

// A file whose sealed seed belongs to another key than the recorded one
// is refused, even with the right passphrase.
func TestLoadMismatch(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := Save(a, testkit.NewKey(t), []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	if err := Save(b, testkit.NewKey(t), []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	fa, _ := Read(a)
	fb, _ := Read(b)
	fa.Sealed = fb.Sealed
	data, _ := json.Marshal(fa)
	if err := os.WriteFile(a, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(a, []byte("pw")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Load = %v, want ErrMismatch", err)
	}
}

func TestParseRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	key := testkit.NewKey(t)
	if err := Save(path, key, []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	good, _ := Read(path)
	edit := func(f func(*File)) []byte {
		kf := good
		f(&kf)
		b, _ := json.Marshal(kf)
		return b
	}
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"not json":      {[]byte("{"), ErrFormat},
		"unknown field": {[]byte(`{"version":1,"extra":1}`), ErrFormat},
		"version":       {edit(func(f *File) { f.Version = 2 }), ErrFormat},
		"short key":     {edit(func(f *File) { f.PublicKey = f.PublicKey[:31] }), ErrFormat},
		"identity key":  {edit(func(f *File) { f.PublicKey = append([]byte{1}, make([]byte, 31)...) }), ErrFormat},
		"fingerprint":   {edit(func(f *File) { f.Fingerprint = chusme.Fingerprint([]byte("x")) }), ErrMismatch},
		"trailing":      {append(edit(func(*File) {}), "{}"...), ErrFormat},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWriteBytesCopiesAKeyFileOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.key")
	key := testkit.NewKey(t)
	if err := Save(path, key, []byte("pw"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := path + ".old"
	if err := WriteBytes(copyPath, raw); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(copyPath); err != nil || fi.Mode().Perm() != Mode {
		t.Fatalf("copy mode %v, %v", fi.Mode(), err)
	}
	got, err := Load(copyPath, []byte("pw"))
	if err != nil || !got.Equal(key) {
		t.Fatalf("the copy does not open to the same key: %v", err)
	}
	if err := WriteBytes(copyPath, []byte("not a key file")); !errors.Is(err, ErrFormat) {
		t.Fatalf("WriteBytes of junk: %v, want ErrFormat", err)
	}
	if again, err := Load(copyPath, []byte("pw")); err != nil || !again.Equal(key) {
		t.Fatal("a refused WriteBytes changed the file")
	}
}
