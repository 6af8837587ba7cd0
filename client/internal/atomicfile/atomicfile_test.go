package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := Write(path, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("two"), 0o600, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Write without overwrite = %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Fatalf("content = %q after refused overwrite", b)
	}
	if err := Write(path, []byte("three"), 0o600, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "three" {
		t.Fatalf("content = %q", b)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftover temporary files: %v", entries)
	}
}
