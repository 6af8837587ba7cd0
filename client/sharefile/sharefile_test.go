package sharefile

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/frost"
)

// group deals a 2-of-3 key among three random identities and returns their
// shares.
func group(t *testing.T) []*Share {
	t.Helper()
	var fps []string
	var ids []frost.Identifier
	for range 3 {
		b := make([]byte, 32)
		rand.Read(b)
		fp := hex.EncodeToString(b)
		id, err := frost.DeriveIdentifier([]byte(fp))
		if err != nil {
			t.Fatal(err)
		}
		fps = append(fps, fp)
		ids = append(ids, id)
	}
	kps, pub, err := frost.TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	keyID := chusme.GroupKeyID(pub.VerifyingKey().Bytes())
	var out []*Share
	for i, fp := range fps {
		out = append(out, &Share{KeyID: keyID, Identity: fp, CeremonyID: "0123456789abcdef0123456789abcdef", KeyPackage: kps[ids[i]], PublicKeyPackage: pub})
	}
	return out
}

func marshal(t *testing.T, kp *frost.KeyPackage) []byte {
	t.Helper()
	b, err := kp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	s := group(t)[0]
	path := Path(t.TempDir(), s.KeyID)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, s, []byte("pw"), vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != Mode {
		t.Fatalf("stat: %v, %v", fi, err)
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, s.KeyPackage.SigningShare().Bytes()) || bytes.Contains(data, marshal(t, s.KeyPackage)) {
		t.Fatal("the share file holds the signing share in clear")
	}
	got, err := Load(path, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Zero()
	if !bytes.Equal(marshal(t, got.KeyPackage), marshal(t, s.KeyPackage)) {
		t.Fatal("loaded key package differs")
	}
	if got.KeyID != s.KeyID || got.Identity != s.Identity || got.CeremonyID != s.CeremonyID ||
		!got.PublicKeyPackage.VerifyingKey().Equal(s.PublicKeyPackage.VerifyingKey()) {
		t.Fatalf("loaded %+v", got)
	}
	sf, err := Read(path)
	if err != nil || sf.KeyID != s.KeyID || sf.Identity != s.Identity {
		t.Fatalf("Read = %+v, %v", sf, err)
	}

	// Save refuses to replace the file unless asked.
	other := group(t)[1]
	other.KeyID = s.KeyID // wrong on purpose: checked before the existence test
	if err := Save(path, other, []byte("pw"), vault.LowCostParams, false); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Save of a mismatched share = %v", err)
	}
	if err := Save(path, s, []byte("pw"), vault.LowCostParams, false); !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Save over an existing file = %v", err)
	}
	if err := Save(path, s, []byte("pw2"), vault.LowCostParams, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, []byte("pw2")); err != nil {
		t.Fatal(err)
	}

	// Zero wipes the signing share.
	got.Zero()
	if !bytes.Equal(got.KeyPackage.SigningShare().Bytes(), make([]byte, 32)) {
		t.Fatal("Zero left the signing share")
	}
}

func TestWrongPassphrase(t *testing.T) {
	s := group(t)[0]
	path := filepath.Join(t.TempDir(), "k.share")
	if err := Save(path, s, []byte("pw"), vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, []byte("wrong")); !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("Load with a wrong passphrase = %v", err)
	}
}

// edit rewrites the JSON file at path through f.
func edit(t *testing.T, path string, f func(*File)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sf File
	if err := json.Unmarshal(data, &sf); err != nil {
		t.Fatal(err)
	}
	f(&sf)
	data, _ = json.Marshal(sf)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTamper(t *testing.T) {
	shares := group(t)
	s := shares[0]
	dir := t.TempDir()
	save := func(name string) string {
		path := filepath.Join(dir, name)
		if err := Save(path, s, []byte("pw"), vault.LowCostParams, false); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// A flipped bit anywhere in the sealed part fails decryption.
	sealedLen := func() int {
		sf, err := Read(save("probe"))
		if err != nil {
			t.Fatal(err)
		}
		return len(sf.Sealed)
	}()
	for i := 0; i < sealedLen; i += 7 {
		path := save("flip")
		edit(t, path, func(sf *File) { sf.Sealed[i] ^= 1 })
		if _, err := Load(path, []byte("pw")); err == nil {
			t.Fatalf("flipping sealed byte %d went unnoticed", i)
		}
		os.Remove(path)
	}

	cases := map[string]struct {
		f    func(*File)
		want error
	}{
		"version":                     {func(sf *File) { sf.Version = 3 }, ErrFormat},
		"version 1 with a generation": {func(sf *File) { sf.Version = 1 }, ErrFormat},
		"generation 0":                {func(sf *File) { sf.Generation = 0 }, ErrFormat},
		"generation -1":               {func(sf *File) { sf.Generation = -1 }, ErrFormat},
		"key id":                      {func(sf *File) { sf.KeyID = chusme.Fingerprint([]byte("x")) }, ErrMismatch},
		"bad key id":                  {func(sf *File) { sf.KeyID = "ABC" }, ErrFormat},
		"public package":              {func(sf *File) { sf.PublicKeyPackage = sf.PublicKeyPackage[:len(sf.PublicKeyPackage)-1] }, ErrFormat},
		"identity":                    {func(sf *File) { sf.Identity = shares[1].Identity }, ErrMismatch},
		"purpose swapped":             {func(sf *File) { sf.Sealed = mustSeal(t, "identity-key", marshal(t, s.KeyPackage)) }, vault.ErrDecrypt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := save(name)
			edit(t, path, c.f)
			if _, err := Load(path, []byte("pw")); !errors.Is(err, c.want) {
				t.Fatalf("Load = %v, want %v", err, c.want)
			}
		})
	}

	// Trailing data and unknown fields are refused.
	path := save("trailing")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, append(data, "{}"...), 0o600)
	if _, err := Read(path); !errors.Is(err, ErrFormat) {
		t.Fatalf("trailing data: %v", err)
	}
	os.WriteFile(path, bytes.Replace(data, []byte(`"version"`), []byte(`"extra": 1, "version"`), 1), 0o600)
	if _, err := Read(path); !errors.Is(err, ErrFormat) {
		t.Fatalf("unknown field: %v", err)
	}
}

func mustSeal(t *testing.T, purpose string, pt []byte) []byte {
	t.Helper()
	b, err := vault.Seal([]byte("pw"), purpose, pt, vault.LowCostParams)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A key package sealed correctly but belonging to another participant, or
// to another group, is refused on load even though it decrypts; and Save
// refuses such a share up front.
func TestMismatch(t *testing.T) {
	shares := group(t)
	s := shares[0]
	path := filepath.Join(t.TempDir(), "k.share")
	if err := Save(path, s, []byte("pw"), vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}

	// Another participant's key package of the same group.
	edit(t, path, func(sf *File) { sf.Sealed = mustSeal(t, Purpose, marshal(t, shares[1].KeyPackage)) })
	if _, err := Load(path, []byte("pw")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("another participant's share: %v", err)
	}

	// The same identity's key package of another group.
	ids := []frost.Identifier{s.KeyPackage.Identifier(), shares[1].KeyPackage.Identifier(), shares[2].KeyPackage.Identifier()}
	kps, _, err := frost.TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	edit(t, path, func(sf *File) { sf.Sealed = mustSeal(t, Purpose, marshal(t, kps[ids[0]])) })
	if _, err := Load(path, []byte("pw")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("another group's share: %v", err)
	}

	// A group key with another verifying share for this identity.
	_, pub2, err := frost.TrustedDealerKeygen(nil, nil, ids, 2)
	if err != nil {
		t.Fatal(err)
	}
	bad := &Share{KeyID: chusme.GroupKeyID(pub2.VerifyingKey().Bytes()), Identity: s.Identity, KeyPackage: s.KeyPackage, PublicKeyPackage: pub2}
	if err := Save(filepath.Join(t.TempDir(), "bad.share"), bad, []byte("pw"), vault.LowCostParams, false); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Save of a mismatched share = %v", err)
	}
	wrongID := *s
	wrongID.Identity = shares[1].Identity
	if err := Save(filepath.Join(t.TempDir(), "bad.share"), &wrongID, []byte("pw"), vault.LowCostParams, false); !errors.Is(err, ErrMismatch) {
		t.Fatalf("Save under another identity = %v", err)
	}
}

// A version 1 share file (no generation) still loads, as generation 1; Save
// writes version 2 with the generation, and a new share's is 1.
func TestVersion1(t *testing.T) {
	s := group(t)[0]
	dir := t.TempDir()
	path := filepath.Join(dir, "k.share")
	if err := Save(path, s, []byte("pw"), vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}
	sf, err := Read(path)
	if err != nil || sf.Version != Version || sf.Generation != 1 {
		t.Fatalf("a new share file: version %d, generation %d, %v; want %d, 1", sf.Version, sf.Generation, err, Version)
	}
	// What version 1 wrote: the same fields without the generation.
	data, _ := os.ReadFile(path)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "generation")
	m["version"] = 1
	v1, _ := json.Marshal(m)
	old := filepath.Join(dir, "v1.share")
	os.WriteFile(old, v1, 0o600)
	got, err := Load(old, []byte("pw"))
	if err != nil {
		t.Fatalf("Load of a version 1 file: %v", err)
	}
	defer got.Zero()
	if got.Generation != 1 || !bytes.Equal(marshal(t, got.KeyPackage), marshal(t, s.KeyPackage)) {
		t.Fatalf("version 1 file loaded as generation %d", got.Generation)
	}

	// A later generation is written and read back.
	s.Generation = 4
	next := filepath.Join(dir, "g4.share")
	if err := Save(next, s, []byte("pw"), vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(next, []byte("pw")); err != nil || got.Generation != 4 {
		t.Fatalf("generation 4: %v, %v", got, err)
	}
	s.Generation = -1
	if err := Save(filepath.Join(dir, "neg.share"), s, []byte("pw"), vault.LowCostParams, false); err == nil {
		t.Fatal("Save of a negative generation succeeded")
	}
}

// TestSeal checks that Seal's bytes are a share file as Save writes it:
// they parse, open with the passphrase only, to the same share, and have
// the layout of Save's file; a share that fails its checks is refused.
func TestSeal(t *testing.T) {
	shares := group(t)
	s := shares[0]
	pass := []byte("seal passphrase")
	data, err := Seal(s, pass, vault.LowCostParams)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Seal): %v", err)
	}
	if _, err := f.Open([]byte("wrong")); !errors.Is(err, vault.ErrDecrypt) {
		t.Errorf("Open with a wrong passphrase: %v, want vault.ErrDecrypt", err)
	}
	got, err := f.Open(pass)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Zero()
	if !bytes.Equal(marshal(t, got.KeyPackage), marshal(t, s.KeyPackage)) || got.Generation != 1 || got.Identity != s.Identity {
		t.Errorf("Seal's share opens to %+v, want %+v", got, s)
	}
	path := filepath.Join(t.TempDir(), "saved.share")
	if err := Save(path, s, pass, vault.LowCostParams, false); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(saved, []byte("\n")) != bytes.Count(data, []byte("\n")) || len(saved) != len(data) {
		t.Errorf("Seal's file:\n%s\nSave's:\n%s", data, saved)
	}
	bad := *s
	bad.KeyPackage = shares[1].KeyPackage
	if _, err := Seal(&bad, pass, vault.LowCostParams); err == nil {
		t.Error("Seal of a share of another identity succeeded")
	}
}
