package jsonfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLimited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	os.WriteFile(path, []byte(`{"a":1}`), 0o600)
	if b, err := ReadLimited(path, 7); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("at the bound: %q %v", b, err)
	}
	if _, err := ReadLimited(path, 6); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the bound: %v, want ErrTooLarge", err)
	}
}

// TestDecodeStrict: a file is decoded to the letter, nested objects too.
func TestDecodeStrict(t *testing.T) {
	k := Kind{Version: 1, ErrFormat: errors.New("malformed x")}
	type file struct {
		Version int                        `json:"version"`
		Entries map[string]struct{ A int } `json:"entries"`
	}
	for in, ok := range map[string]bool{
		`{"version":1,"entries":{"x":{"A":1}}}`:             true,
		`{"version":1,"entries":{"x":{"A":1},"X":{"A":1}}}`: true,  // map keys are data
		`{"version":1,"extra":2}`:                           false, // unknown field
		`{"version":1} {"version":1}`:                       false, // trailing data
		`{"version":1} ]`:                                   false,
		`{"version":"1"}`:                                   false, // wrong type
		``:                                                  false,
		`{"version":1,"version":1}`:                         false, // duplicate key
		`{"version":1,"entries":{"x":{},"x":{}}}`:           false, // duplicate nested key
		`{"Version":1}`:                                     false, // another case
		`{"version":1,"entries":{"x":{"a":1}}}`:             false, // another case, nested
	} {
		var f file
		if err := k.Decode([]byte(in), &f, &f.Version); (err == nil) != ok || (err != nil && !errors.Is(err, k.ErrFormat)) {
			t.Errorf("Decode(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestKind(t *testing.T) {
	errExists, errFormat := fmt.Errorf("x exists: %w", fs.ErrExist), errors.New("malformed x")
	k := Kind{Version: 1, MaxSize: 64, Mode: 0o600, ErrExists: errExists, ErrFormat: errFormat}
	type file struct {
		Version int    `json:"version"`
		Name    string `json:"name"`
	}
	parse := func(data []byte) (file, error) {
		var f file
		err := k.Decode(data, &f, &f.Version)
		return f, err
	}
	path := filepath.Join(t.TempDir(), "f.json")
	if _, err := Read(k, path, parse); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing file = %v, want ErrNotExist", err)
	}
	if err := k.Absent(path, false); err != nil {
		t.Fatalf("Absent before the write: %v", err)
	}
	if err := k.Write(path, file{1, "a"}, false); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "{\n  \"version\": 1,\n  \"name\": \"a\"\n}\n" {
		t.Fatalf("written %q", data)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	if err := k.Absent(path, false); err != errExists {
		t.Fatalf("Absent over a file = %v, want ErrExists", err)
	}
	if err := k.Absent(path, true); err != nil {
		t.Fatalf("Absent with overwrite = %v", err)
	}
	if err := k.Write(path, file{1, "b"}, false); err != errExists {
		t.Fatalf("Write over a file = %v, want ErrExists", err)
	}
	if f, err := Read(k, path, parse); err != nil || f.Name != "a" {
		t.Fatalf("Read = %+v, %v", f, err)
	}
	if err := k.Write(path, file{2, "b"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(k, path, parse); !errors.Is(err, errFormat) {
		t.Fatalf("Read of version 2 = %v, want ErrFormat", err)
	}
	if err := k.Write(path, file{1, strings.Repeat("b", 64)}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(k, path, parse); err != errFormat {
		t.Fatalf("Read over MaxSize = %v, want ErrFormat", err)
	}
}

// Load and Save serve files that start empty: a missing file is no error,
// Save makes the directory and replaces the file, and a bad file is
// ErrFormat.
func TestKindLoadSave(t *testing.T) {
	errFormat := errors.New("malformed x")
	k := Kind{Version: 1, MaxSize: 64, Mode: 0o600, ErrFormat: errFormat}
	type file struct {
		Version int    `json:"version"`
		Name    string `json:"name"`
	}
	path := filepath.Join(t.TempDir(), "sub", "f.json")
	var f file
	if ok, err := k.Load(path, &f, &f.Version); ok || err != nil {
		t.Fatalf("Load of a missing file = %v, %v; want false, nil", ok, err)
	}
	for _, name := range []string{"a", "b"} {
		if err := k.Save(path, file{1, name}); err != nil {
			t.Fatal(err)
		}
		if ok, err := k.Load(path, &f, &f.Version); !ok || err != nil || f.Name != name {
			t.Fatalf("Load = %v, %+v, %v; want %q", ok, f, err, name)
		}
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, %v", fi.Mode(), err)
	}
	for name, content := range map[string]string{
		"too large": `{"version":1,"name":"` + strings.Repeat("x", 64) + `"}`,
		"version":   `{"version":2,"name":"a"}`,
		"unknown":   `{"version":1,"name":"a","x":1}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Load(path, &f, &f.Version); !errors.Is(err, errFormat) {
			t.Errorf("%s: Load = %v, want ErrFormat", name, err)
		}
	}
}

// TestDecodeOldest: with Oldest set, the versions from it to Version read;
// others do not.
func TestDecodeOldest(t *testing.T) {
	k := Kind{Version: 3, Oldest: 2, ErrFormat: errors.New("malformed x")}
	for v, ok := range map[int]bool{1: false, 2: true, 3: true, 4: false} {
		var f struct {
			Version int `json:"version"`
		}
		err := k.Decode(fmt.Appendf(nil, `{"version":%d}`, v), &f, &f.Version)
		if (err == nil) != ok {
			t.Errorf("version %d: %v, want ok=%v", v, err, ok)
		}
	}
}
