package jsonfile

import (
	"errors"
	"os"
	"path/filepath"
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

func TestDecodeStrict(t *testing.T) {
	var v struct{ A int }
	for in, ok := range map[string]bool{
		`{"A":1}`:         true,
		`{"A":1,"B":2}`:   false, // unknown field
		`{"A":1} {"A":2}`: false, // trailing data
		`{"A":"x"}`:       false, // wrong type
		``:                false,
	} {
		if err := DecodeStrict([]byte(in), &v); (err == nil) != ok {
			t.Errorf("DecodeStrict(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
