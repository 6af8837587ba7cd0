package roundstate_test

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/roundstate"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/vectortest"
)

// The state file vector: the associated data, the state key in the sealed
// vault, the state sealed under it with the vector's nonce, Open reading
// the plaintext back out of the file, and the exact bytes Save writes (with
// the vector's sealed state in place of its random one).
func TestGoldenCeremonyState(t *testing.T) {
	vectortest.Each(t, "ceremony_state", func(t *testing.T, in struct {
		Passphrase string         `json:"passphrase"`
		CeremonyID string         `json:"ceremony_id"`
		SealedKey  vectortest.Hex `json:"sealed_key"`
		Nonce      vectortest.Hex `json:"nonce"`
		Plaintext  string         `json:"plaintext"`
	}, want struct {
		StateKey vectortest.Hex `json:"state_key"`
		AD       vectortest.Hex `json:"ad"`
		State    vectortest.Hex `json:"state"`
		File     string         `json:"file"`
	}) {
		ad := chusme.CeremonyStateAD(in.CeremonyID)
		vectortest.Equal(t, "ad", ad, want.AD)
		key, err := vault.Open([]byte(in.Passphrase), roundstate.Purpose, in.SealedKey)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "state_key", key, want.StateKey)
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "state", gcm.Seal([]byte(in.Nonce), in.Nonce, []byte(in.Plaintext), ad), want.State)

		dir := t.TempDir()
		store := roundstate.New(dir, []byte(in.Passphrase), vault.LowCostParams)
		path := filepath.Join(dir, in.CeremonyID+roundstate.Suffix)
		if store.Path(in.CeremonyID) != path {
			t.Fatalf("Path = %s, want %s", store.Path(in.CeremonyID), path)
		}
		if err := os.WriteFile(path, []byte(want.File), roundstate.Mode); err != nil {
			t.Fatal(err)
		}
		c, st, err := store.Open(in.CeremonyID)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		pt, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.EqualString(t, "opened plaintext", string(pt), in.Plaintext)
		if err := c.Save(st); err != nil {
			t.Fatal(err)
		}
		stateOf := func(data []byte) ([]byte, error) {
			var f struct {
				State chusme.Bytes `json:"state"`
			}
			err := json.Unmarshal(data, &f)
			return f.State, err
		}
		vectortest.EqualString(t, "file", vectortest.SavedWith(t, path, stateOf, want.State), want.File)
	})
}
