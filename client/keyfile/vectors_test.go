package keyfile

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/vectortest"
)

// The key file vectors: the exact bytes Save writes (with the vector's fixed
// vault in place of the random one Save seals), and Parse and Open reading
// the fingerprint, public key, identity and seed back.
func TestGoldenKeyFile(t *testing.T) {
	vectortest.Each(t, "key_file", func(t *testing.T, in struct {
		Seed       vectortest.Hex `json:"seed"`
		Passphrase string         `json:"passphrase"`
		Sealed     vectortest.Hex `json:"sealed"`
		Identity   string         `json:"identity"`
	}, want struct {
		PublicKey   vectortest.Hex `json:"public_key"`
		Fingerprint string         `json:"fingerprint"`
		File        string         `json:"file"`
	}) {
		key := ed25519.NewKeyFromSeed(in.Seed)
		path := filepath.Join(t.TempDir(), "key.json")
		var err error
		if in.Identity == "" {
			err = Save(path, key, []byte(in.Passphrase), vault.LowCostParams)
		} else {
			err = SaveFor(path, in.Identity, key, []byte(in.Passphrase), vault.LowCostParams, false)
		}
		if err != nil {
			t.Fatal(err)
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		kf, err := Parse(saved)
		if err != nil {
			t.Fatal(err)
		}
		enc := base64.RawURLEncoding
		saved = bytes.Replace(saved, []byte(enc.EncodeToString(kf.Sealed)), []byte(enc.EncodeToString(in.Sealed)), 1)
		vectortest.EqualString(t, "file", string(saved), want.File)

		kf, err = Parse([]byte(want.File))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		vectortest.Equal(t, "public_key", kf.PublicKey, want.PublicKey)
		vectortest.EqualString(t, "fingerprint", kf.Fingerprint, want.Fingerprint)
		vectortest.EqualString(t, "parsed identity", kf.Identity, in.Identity)
		opened, err := kf.Open([]byte(in.Passphrase))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		vectortest.Equal(t, "opened seed", opened.Seed(), in.Seed)
	})
}
