package client

import (
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
	"github.com/chusme/chusme/internal/vectortest"
)

// The backup vectors: the plaintext SealBackup seals (compact JSON:
// version 3, fingerprint, seed, shares, dropped) under the key of the
// fixed sealed backup, and OpenBackup opening that backup; a version 1
// backup (no shares) and a version 2 one (no dropped), which OpenBackup
// still opens.
func TestGoldenBackup(t *testing.T) {
	type share struct {
		KeyID      string         `json:"key_id"`
		Generation int            `json:"generation"`
		Identity   string         `json:"identity"`
		CeremonyID string         `json:"ceremony_id"`
		KeyPackage vectortest.Hex `json:"key_package"`
	}
	vectortest.Each(t, "backup", func(t *testing.T, in struct {
		Version     int            `json:"version"`
		Fingerprint string         `json:"fingerprint"`
		Seed        vectortest.Hex `json:"seed"`
		Shares      []share        `json:"shares"`
		Dropped     []DroppedShare `json:"dropped"`
		Passphrase  string         `json:"passphrase"`
		Sealed      vectortest.Hex `json:"sealed"`
	}, want struct {
		Plaintext vectortest.Hex `json:"plaintext"`
	}) {
		b, k, err := OpenBackup(in.Fingerprint, in.Sealed, []byte(in.Passphrase))
		if err != nil {
			t.Fatalf("OpenBackup: %v", err)
		}
		defer b.Zero()
		defer k.Wipe()
		vectortest.Equal(t, "opened seed", b.Key.Seed(), in.Seed)
		if b.Version != in.Version || len(b.Shares) != len(in.Shares) || !reflect.DeepEqual(b.Dropped, in.Dropped) {
			t.Fatalf("opened version %d with %d shares and dropped %v, want %d with %d and %v", b.Version, len(b.Shares), b.Dropped,
				in.Version, len(in.Shares), in.Dropped)
		}
		for i, s := range b.Shares {
			kp, err := s.KeyPackage.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			vectortest.Equal(t, "opened key_package", kp, in.Shares[i].KeyPackage)
			if got := (share{s.KeyID, s.Generation, s.Identity, s.CeremonyID, kp}); !reflect.DeepEqual(got, in.Shares[i]) {
				t.Errorf("opened share %+v, want %+v", got, in.Shares[i])
			}
		}
		plain := []byte(nil)
		if in.Version != BackupVersion {
			plain, err = vault.Open([]byte(in.Passphrase), BackupPurpose, in.Sealed)
		} else {
			var sealed []byte
			if sealed, err = SealBackup(b, k); err == nil {
				plain, err = k.Open(sealed)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "plaintext", plain, want.Plaintext)
	})
}

// The sealed DKG round-2 package vector: the recipient's HPKE public key (as
// its round-1 payload carries it) and the fixed ciphertext opening, under
// DKGShareInfo, to a sealed secret: a frost round-2 package and its
// sender's signature over it (CeremonySecretMessage).
func TestGoldenDKGShareSeal(t *testing.T) {
	vectortest.Each(t, "dkg_share_seal", func(t *testing.T, in struct {
		RecipientPrivateKey vectortest.Hex `json:"recipient_private_key"`
		CeremonyID          string         `json:"ceremony_id"`
		Sender              string         `json:"sender"`
		SenderSeed          vectortest.Hex `json:"sender_seed"`
		Recipient           string         `json:"recipient"`
		Sealed              vectortest.Hex `json:"sealed"`
	}, want struct {
		RecipientPublicKey vectortest.Hex `json:"recipient_public_key"`
		Plaintext          vectortest.Hex `json:"plaintext"`
		Secret             vectortest.Hex `json:"secret"`
		SenderPublicKey    vectortest.Hex `json:"sender_public_key"`
		SecretSignature    vectortest.Hex `json:"secret_signature"`
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
		secret, sig, ok := chusme.SplitSealedSecret(pt)
		if !ok {
			t.Fatal("the plaintext is not a sealed secret")
		}
		vectortest.Equal(t, "secret", secret, want.Secret)
		vectortest.Equal(t, "secret_signature", sig, want.SecretSignature)
		k := ed25519.NewKeyFromSeed(in.SenderSeed)
		vectortest.Equal(t, "sender_public_key", k.Public().(ed25519.PublicKey), want.SenderPublicKey)
		if chusme.Fingerprint(k.Public().(ed25519.PublicKey)) != in.Sender {
			t.Error("the sender is not the seed's identity")
		}
		vectortest.Equal(t, "secret_signature", ed25519.Sign(k, chusme.CeremonySecretMessage(in.CeremonyID, 2, in.Sender, in.Recipient, secret)), want.SecretSignature)
		if err := new(frost.DKGRound2Package).UnmarshalBinary(secret); err != nil {
			t.Errorf("the secret is not a frost round-2 package: %v", err)
		}
	})
}

// The backup state file vector: the exact bytes SaveBackupState writes
// (with the vector's fixed vault in place of the random one NewBackupState
// seals), and LoadBackupState and OpenKey reading the backup's key material
// back.
func TestGoldenBackupState(t *testing.T) {
	vectortest.Each(t, "backup_state", func(t *testing.T, in struct {
		Identity   string          `json:"identity"`
		Passphrase string          `json:"passphrase"`
		Sealed     vectortest.Hex  `json:"sealed"`
		ETag       string          `json:"etag"`
		PushedAt   time.Time       `json:"pushed_at"`
		Shares     []BackedUpShare `json:"shares"`
	}, want struct {
		KeyMaterial vectortest.Hex `json:"key_material"`
		File        string         `json:"file"`
	}) {
		var k vault.Key
		if err := k.UnmarshalBinary(want.KeyMaterial); err != nil {
			t.Fatal(err)
		}
		st, err := NewBackupState(in.Identity, &k, []byte(in.Passphrase), vault.LowCostParams)
		if err != nil {
			t.Fatal(err)
		}
		b := &Backup{}
		for _, s := range in.Shares {
			b.Shares = append(b.Shares, &sharefile.Share{KeyID: s.KeyID, Generation: s.Generation})
		}
		st.Record(in.ETag, in.PushedAt, b)
		path := filepath.Join(t.TempDir(), "backup.key")
		if err := SaveBackupState(path, st); err != nil {
			t.Fatal(err)
		}
		sealedOf := func(data []byte) ([]byte, error) {
			var f BackupState
			err := json.Unmarshal(data, &f)
			return f.Key, err
		}
		vectortest.EqualString(t, "file", vectortest.SavedWith(t, path, sealedOf, in.Sealed), want.File)

		os.WriteFile(path, []byte(want.File), 0o600)
		got, err := LoadBackupState(path)
		if err != nil {
			t.Fatalf("LoadBackupState: %v", err)
		}
		if got.Identity != in.Identity || got.ETag != in.ETag || !got.PushedAt.Equal(in.PushedAt) || !reflect.DeepEqual(got.Shares, in.Shares) {
			t.Errorf("loaded %+v", got)
		}
		opened, err := got.OpenKey([]byte(in.Passphrase))
		if err != nil {
			t.Fatalf("OpenKey: %v", err)
		}
		material, _ := opened.MarshalBinary()
		vectortest.Equal(t, "key_material", material, want.KeyMaterial)
	})
}
