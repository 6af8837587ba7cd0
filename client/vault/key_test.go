package vault

import (
	"bytes"
	"errors"
	"testing"
)

// A Key derived once seals many vaults that Open opens with the passphrase:
// one header, a fresh nonce each.
func TestKeySealsMany(t *testing.T) {
	k, err := DeriveKey([]byte("pw"), "identity-backup", LowCostParams)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Wipe()
	if k.Purpose() != "identity-backup" {
		t.Fatalf("Purpose = %q", k.Purpose())
	}
	a, b := k.Seal([]byte("first")), k.Seal([]byte("first"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal: the nonce is not fresh")
	}
	h, _ := parseHeader(a)
	if !bytes.Equal(a[:h.size], b[:h.size]) {
		t.Fatal("two seals of one key have different headers")
	}
	for _, v := range [][]byte{a, b} {
		if pt, err := Open([]byte("pw"), "identity-backup", v); err != nil || string(pt) != "first" {
			t.Fatalf("Open of a Key.Seal vault = %q, %v", pt, err)
		}
		if pt, err := k.Open(v); err != nil || string(pt) != "first" {
			t.Fatalf("Key.Open = %q, %v", pt, err)
		}
	}
	// A vault of another salt is another key's; an altered one fails.
	if _, err := k.Open(mustSeal(t, "pw", "identity-backup", []byte("x"))); !errors.Is(err, ErrOtherKey) {
		t.Fatalf("Key.Open of another salt's vault = %v, want ErrOtherKey", err)
	}
	bad := bytes.Clone(a)
	bad[len(bad)-1] ^= 1
	if _, err := k.Open(bad); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Key.Open of an altered vault = %v, want ErrDecrypt", err)
	}
	if _, err := k.Open([]byte("CHUSME")); !errors.Is(err, ErrFormat) {
		t.Fatalf("Key.Open of garbage = %v, want ErrFormat", err)
	}
	if _, err := DeriveKey([]byte("pw"), "Bad Purpose", LowCostParams); !errors.Is(err, ErrPurpose) {
		t.Fatalf("DeriveKey with a bad purpose = %v", err)
	}
	if _, err := DeriveKey([]byte("pw"), "x", Params{Time: MaxTime + 1, MemoryKiB: 64, Threads: 1}); !errors.Is(err, ErrParams) {
		t.Fatalf("DeriveKey beyond the bounds = %v", err)
	}
}

// OpenKey gives the key of an existing vault: its seals keep the vault's
// header, and the key material round-trips through MarshalBinary.
func TestOpenKeyAndKeyMaterial(t *testing.T) {
	sealed := mustSeal(t, "pw", "identity-backup", []byte("v1"))
	if _, _, err := OpenKey([]byte("wrong"), "identity-backup", sealed); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("OpenKey with a wrong passphrase = %v", err)
	}
	k, pt, err := OpenKey([]byte("pw"), "identity-backup", sealed)
	if err != nil || string(pt) != "v1" {
		t.Fatalf("OpenKey = %q, %v", pt, err)
	}
	next := k.Seal([]byte("v2"))
	h, _ := parseHeader(sealed)
	if !bytes.Equal(next[:h.size], sealed[:h.size]) {
		t.Fatal("a re-seal by OpenKey's key changed the header")
	}
	material, err := k.MarshalBinary()
	if err != nil || len(material) != h.size+keySize {
		t.Fatalf("MarshalBinary: %d bytes, %v", len(material), err)
	}
	var k2 Key
	if err := k2.UnmarshalBinary(material); err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open(next); err != nil || string(pt) != "v2" {
		t.Fatalf("the unmarshalled key opens %q, %v", pt, err)
	}
	if pt, err := Open([]byte("pw"), "identity-backup", k2.Seal([]byte("v3"))); err != nil || string(pt) != "v3" {
		t.Fatalf("the passphrase opens the unmarshalled key's seal: %q, %v", pt, err)
	}
	for name, b := range map[string][]byte{
		"short":    material[:len(material)-1],
		"long":     append(bytes.Clone(material), 0),
		"garbage":  []byte("CHUSMEV1"),
		"too dear": append(appendHeader(nil, "x", Params{Time: MaxTime + 1, MemoryKiB: 64, Threads: 1}, make([]byte, SaltSize)), make([]byte, keySize)...),
	} {
		if err := new(Key).UnmarshalBinary(b); !errors.Is(err, ErrFormat) {
			t.Errorf("UnmarshalBinary(%s) = %v, want ErrFormat", name, err)
		}
	}
	k.Wipe()
	if !bytes.Equal(k.key, make([]byte, keySize)) {
		t.Fatal("Wipe left the key")
	}
}
