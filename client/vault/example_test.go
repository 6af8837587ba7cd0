package vault_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/chusme/chusme/client/vault"
)

// Seal a backup under a passphrase and open it again; another purpose can't
// open it even with the right passphrase.
func Example() {
	pass := []byte("correct horse battery staple")
	// LowCostParams keep the example fast; real secrets use DefaultParams.
	sealed, err := vault.Seal(pass, "backup", []byte("my secret"), vault.LowCostParams)
	if err != nil {
		log.Fatal(err)
	}
	plain, err := vault.Open(pass, "backup", sealed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", plain)
	_, err = vault.Open(pass, "identity-key", sealed)
	fmt.Println(errors.Is(err, vault.ErrDecrypt))
	// Output:
	// my secret
	// true
}
