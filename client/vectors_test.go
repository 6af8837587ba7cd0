package client

import (
	"crypto/ed25519"
	"crypto/hpke"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/vectortest"
)

// The backup vector: the plaintext SealBackup seals (JSON: version,
// fingerprint, seed), and OpenBackup opening the fixed sealed backup.
func TestGoldenBackup(t *testing.T) {
	vectortest.Each(t, "backup", func(t *testing.T, in struct {
		Fingerprint string         `json:"fingerprint"`
		Seed        vectortest.Hex `json:"seed"`
		Passphrase  string         `json:"passphrase"`
		Sealed      vectortest.Hex `json:"sealed"`
	}, want struct {
		Plaintext vectortest.Hex `json:"plaintext"`
	}) {
		key := ed25519.NewKeyFromSeed(in.Seed)
		sealed, err := SealBackup(in.Fingerprint, key, []byte(in.Passphrase), vault.LowCostParams)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := vault.Open([]byte(in.Passphrase), BackupPurpose, sealed)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "plaintext", plain, want.Plaintext)
		got, err := OpenBackup(in.Fingerprint, in.Sealed, []byte(in.Passphrase))
		if err != nil {
			t.Fatalf("OpenBackup: %v", err)
		}
		vectortest.Equal(t, "opened seed", got.Seed(), in.Seed)
	})
}

// The sealed DKG round-2 package vector: the recipient's HPKE public key (as
// its round-1 payload carries it) and the fixed ciphertext opening, under
// DKGShareInfo, to a frost round-2 package.
func TestGoldenDKGShareSeal(t *testing.T) {
	vectortest.Each(t, "dkg_share_seal", func(t *testing.T, in struct {
		RecipientPrivateKey vectortest.Hex `json:"recipient_private_key"`
		CeremonyID          string         `json:"ceremony_id"`
		Sender              string         `json:"sender"`
		Recipient           string         `json:"recipient"`
		Sealed              vectortest.Hex `json:"sealed"`
	}, want struct {
		RecipientPublicKey vectortest.Hex `json:"recipient_public_key"`
		Plaintext          vectortest.Hex `json:"plaintext"`
	}) {
		sk, err := hpkeKEM.NewPrivateKey(in.RecipientPrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "recipient_public_key", sk.PublicKey().Bytes(), want.RecipientPublicKey)
		pt, err := hpke.Open(sk, hpkeKDF, hpkeAEAD, chusme.DKGShareInfo(in.CeremonyID, in.Sender, in.Recipient), in.Sealed)
		if err != nil {
			t.Fatalf("hpke.Open: %v", err)
		}
		vectortest.Equal(t, "plaintext", pt, want.Plaintext)
		if err := new(frost.DKGRound2Package).UnmarshalBinary(pt); err != nil {
			t.Errorf("the plaintext is not a frost round-2 package: %v", err)
		}
	})
}
