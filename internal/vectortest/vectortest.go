// Package vectortest gives tests their test vectors: the golden wire vectors
// of testdata/vectors.json at the repository root, which pin every byte
// string the protocol signs, hashes, seals or derives (docs/protocol.md), and
// the published vectors of ../shared/vectors beside the checkout.
package vectortest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Root returns the repository root: the nearest directory at or above the
// working directory (a test's package directory) that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("vectortest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Shared reads the file name (a slash-separated path) of ../shared/vectors,
// the published vectors beside the checkout. If it is absent the test is
// skipped, except when the environment variable CI is set (as in CI), where
// a missing vector file fails the test instead.
func Shared(t testing.TB, name string) []byte {
	t.Helper()
	path := filepath.Join(Root(t), "..", "shared", "vectors", filepath.FromSlash(name))
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("vector file %s not found and CI is set", path)
		}
		t.Skipf("vector file %s not found", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Vector is one golden vector: its name, its type (which function or format
// it pins), the inputs and the expected outputs, both JSON objects whose
// byte strings are lowercase hex.
type Vector struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Inputs   json.RawMessage `json:"inputs"`
	Expected json.RawMessage `json:"expected"`
}

// File is testdata/vectors.json.
type File struct {
	Comment string   `json:"comment"`
	Vectors []Vector `json:"vectors"`
}

// Load reads and decodes testdata/vectors.json.
func Load(t testing.TB) File {
	t.Helper()
	path := filepath.Join(Root(t), "testdata", "vectors.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// Each runs fn, as a subtest named after the vector, for every golden vector
// of type typ, with the vector's inputs and expected outputs decoded
// (strictly) into new values of In and Want. It fails if there is none.
func Each[In, Want any](t *testing.T, typ string, fn func(t *testing.T, in In, want Want)) {
	t.Helper()
	n := 0
	for _, v := range Load(t).Vectors {
		if v.Type != typ {
			continue
		}
		n++
		t.Run(v.Name, func(t *testing.T) {
			var in In
			var want Want
			decodeStrict(t, v.Inputs, &in)
			decodeStrict(t, v.Expected, &want)
			fn(t, in, want)
		})
	}
	if n == 0 {
		t.Fatalf("no golden vector of type %q", typ)
	}
}

func decodeStrict(t *testing.T, b json.RawMessage, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// Hex is a byte string written in JSON as lowercase hex.
type Hex []byte

// UnmarshalJSON decodes a hex string.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// Equal reports a failure unless got equals want, naming the field and
// printing both in hex.
func Equal(t testing.TB, field string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %x, want %x", field, got, want)
	}
}

// EqualString reports a failure unless got equals want, naming the field and
// printing both as JSON strings.
func EqualString(t testing.TB, field, got, want string) {
	t.Helper()
	if got != want {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s = %s, want %s", field, g, w)
	}
}

// SavedWith returns the text of the file at path, written by the code under
// test with a vault sealed under a random salt and nonce, with that vault
// (sealedOf reads it from the file's bytes) replaced by the vector's fixed
// one: what the file's bytes are with the vector's sealed value.
func SavedWith(t testing.TB, path string, sealedOf func(data []byte) ([]byte, error), fixed []byte) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	random, err := sealedOf(data)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return string(bytes.Replace(data, []byte(enc.EncodeToString(random)), []byte(enc.EncodeToString(fixed)), 1))
}
