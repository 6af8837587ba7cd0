package sharefile

import (
	"path/filepath"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/vectortest"
)

// The share file vector: the identity's frost identifier, the exact bytes
// Save writes for the share (version 2, with the vector's fixed vault in
// place of the random one Save seals), and Parse and Open reading the key
// id, generation, identity, ceremony and key package back out of them.
func TestGoldenShareFile(t *testing.T) {
	vectortest.Each(t, "share_file", func(t *testing.T, in struct {
		Identity         string         `json:"identity"`
		CeremonyID       string         `json:"ceremony_id"`
		Generation       int            `json:"generation"`
		KeyPackage       vectortest.Hex `json:"key_package"`
		PublicKeyPackage vectortest.Hex `json:"public_key_package"`
		Passphrase       string         `json:"passphrase"`
		Sealed           vectortest.Hex `json:"sealed"`
	}, want struct {
		KeyID      string         `json:"key_id"`
		Identifier vectortest.Hex `json:"identifier"`
		File       string         `json:"file"`
	}) {
		id, err := frost.DeriveIdentifier([]byte(in.Identity))
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "identifier", id.Bytes(), want.Identifier)

		kp := new(frost.KeyPackage)
		pub := new(frost.PublicKeyPackage)
		if err := kp.UnmarshalBinary(in.KeyPackage); err != nil {
			t.Fatal(err)
		}
		if err := pub.UnmarshalBinary(in.PublicKeyPackage); err != nil {
			t.Fatal(err)
		}
		keyID := chusme.GroupKeyID(pub.VerifyingKey().Bytes())
		vectortest.EqualString(t, "key_id", keyID, want.KeyID)
		s := &Share{KeyID: keyID, Generation: in.Generation, Identity: in.Identity, CeremonyID: in.CeremonyID, KeyPackage: kp, PublicKeyPackage: pub}
		defer s.Zero()
		path := filepath.Join(t.TempDir(), "k.share")
		if err := Save(path, s, []byte(in.Passphrase), vault.LowCostParams, false); err != nil {
			t.Fatal(err)
		}
		sealedOf := func(data []byte) ([]byte, error) { sf, err := Parse(data); return sf.Sealed, err }
		vectortest.EqualString(t, "file", vectortest.SavedWith(t, path, sealedOf, in.Sealed), want.File)

		sf, err := Parse([]byte(want.File))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		vectortest.EqualString(t, "parsed key_id", sf.KeyID, keyID)
		if sf.Identity != in.Identity || sf.CeremonyID != in.CeremonyID || sf.Generation != in.Generation {
			t.Errorf("identity, ceremony, generation = %s, %s, %d; want %s, %s, %d", sf.Identity, sf.CeremonyID, sf.Generation, in.Identity, in.CeremonyID, in.Generation)
		}
		vectortest.Equal(t, "public_key_package", sf.PublicKeyPackage, in.PublicKeyPackage)
		vectortest.Equal(t, "sealed", sf.Sealed, in.Sealed)
		opened, err := sf.Open([]byte(in.Passphrase))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer opened.Zero()
		if opened.Generation != in.Generation {
			t.Errorf("opened generation = %d, want %d", opened.Generation, in.Generation)
		}
		b, err := opened.KeyPackage.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "opened key_package", b, in.KeyPackage)
	})
}
