package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"github.com/chusme/chusme/internal/vectortest"
	"golang.org/x/crypto/argon2"
)

// The vault vectors fix the random salt and nonce: the header, the Argon2id
// output, the derived key, the key material (Key.MarshalBinary) and the
// sealed bytes follow from the inputs, and Open, and Key.Open of the key
// material, recover the plaintext from the sealed bytes.
func TestGoldenVault(t *testing.T) {
	vectortest.Each(t, "vault", func(t *testing.T, in struct {
		Passphrase string         `json:"passphrase"`
		Purpose    string         `json:"purpose"`
		Time       uint32         `json:"time"`
		MemoryKiB  uint32         `json:"memory_kib"`
		Threads    uint8          `json:"threads"`
		Salt       vectortest.Hex `json:"salt"`
		Nonce      vectortest.Hex `json:"nonce"`
		Plaintext  vectortest.Hex `json:"plaintext"`
	}, want struct {
		Header      vectortest.Hex `json:"header"`
		Argon2      vectortest.Hex `json:"argon2id"`
		Key         vectortest.Hex `json:"key"`
		KeyMaterial vectortest.Hex `json:"key_material"`
		Sealed      vectortest.Hex `json:"sealed"`
	}) {
		p := Params{Time: in.Time, MemoryKiB: in.MemoryKiB, Threads: in.Threads}
		header := appendHeader(nil, in.Purpose, p, in.Salt)
		vectortest.Equal(t, "header", header, want.Header)
		vectortest.Equal(t, "argon2id", argon2.IDKey([]byte(in.Passphrase), in.Salt, p.Time, p.MemoryKiB, p.Threads, 32), want.Argon2)
		key, err := deriveKey([]byte(in.Passphrase), in.Purpose, p, in.Salt)
		if err != nil {
			t.Fatal(err)
		}
		vectortest.Equal(t, "key", key, want.Key)
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		sealed := gcm.Seal(append(header, in.Nonce...), in.Nonce, in.Plaintext, header)
		vectortest.Equal(t, "sealed", sealed, want.Sealed)

		pt, err := Open([]byte(in.Passphrase), in.Purpose, want.Sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		vectortest.Equal(t, "opened", pt, in.Plaintext)
		if got, err := Purpose(want.Sealed); err != nil || got != in.Purpose {
			t.Errorf("Purpose = %q, %v; want %q", got, err, in.Purpose)
		}

		k, err := deriveHeaderKey([]byte(in.Passphrase), header)
		if err != nil {
			t.Fatal(err)
		}
		material, _ := k.MarshalBinary()
		vectortest.Equal(t, "key_material", material, want.KeyMaterial)
		var opened Key
		if err := opened.UnmarshalBinary(want.KeyMaterial); err != nil {
			t.Fatalf("UnmarshalBinary: %v", err)
		}
		pt, err = opened.Open(want.Sealed)
		if err != nil {
			t.Fatalf("Key.Open: %v", err)
		}
		vectortest.Equal(t, "opened by the key material", pt, in.Plaintext)
	})
}
