package keyfile

import (
	"crypto/ed25519"
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
		sealedOf := func(data []byte) ([]byte, error) { kf, err := Parse(data); return kf.Sealed, err }
		vectortest.EqualString(t, "file", vectortest.SavedWith(t, path, sealedOf, in.Sealed), want.File)

		kf, err := Parse([]byte(want.File))
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
