package keyfile_test

import (
	"crypto/ed25519"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
)

// Save an identity key under a passphrase and load it back.
func Example() {
	dir, err := os.MkdirTemp("", "keyfile-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "identity.key")

	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		log.Fatal(err)
	}
	// LowCostParams keep the example fast; real keys use vault.DefaultParams.
	if err := keyfile.Save(path, key, []byte("passphrase"), vault.LowCostParams); err != nil {
		log.Fatal(err)
	}
	loaded, err := keyfile.Load(path, []byte("passphrase"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Equal(key))
	// Output: true
}
