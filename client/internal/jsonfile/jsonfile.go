// Package jsonfile reads and writes the client's small JSON files (key
// files, share files) the one careful way: bounded in size, decoded strictly,
// written atomically.
package jsonfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chusme/chusme/client/internal/atomicfile"
	"github.com/chusme/chusme/strictjson"
)

// ErrTooLarge is returned by ReadLimited for a file larger than its bound.
var ErrTooLarge = errors.New("file is larger than expected")

// ReadLimited reads the file at path, refusing one larger than max bytes
// without reading it all.
func ReadLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, ErrTooLarge
	}
	return data, nil
}

// Kind is one kind of versioned file (key file, share file): the version it
// reads and writes, its size bound and mode, and the errors of its package.
type Kind struct {
	Version   int
	Oldest    int // the oldest version Decode still reads (0: Version only)
	MaxSize   int64
	Mode      fs.FileMode
	ErrExists error // satisfies errors.Is(err, fs.ErrExist)
	ErrFormat error
}

// Read reads the file at path and parses it; a file larger than k.MaxSize
// is k.ErrFormat.
func Read[T any](k Kind, path string, parse func([]byte) (T, error)) (T, error) {
	data, err := ReadLimited(path, k.MaxSize)
	if errors.Is(err, ErrTooLarge) {
		err = k.ErrFormat
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(data)
}

// Decode decodes data strictly (strictjson.Decode: no unknown fields,
// duplicate keys, keys in another case or trailing data) into v, whose
// version field is *version, and checks that version is k.Version (or, with
// k.Oldest set, from k.Oldest to k.Version); it wraps k.ErrFormat on failure.
func (k Kind) Decode(data []byte, v any, version *int) error {
	if err := strictjson.Decode(data, v); err != nil {
		return fmt.Errorf("%w: %v", k.ErrFormat, err)
	}
	oldest := k.Version
	if k.Oldest > 0 {
		oldest = k.Oldest
	}
	if *version < oldest || *version > k.Version {
		return fmt.Errorf("%w: version %d", k.ErrFormat, *version)
	}
	return nil
}

// Absent returns k.ErrExists if a file is at path and overwrite is not set:
// the cheap check before sealing (Argon2id work); Write checks again
// atomically.
func (k Kind) Absent(path string, overwrite bool) error {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return k.ErrExists
		}
	}
	return nil
}

// Load reads the file at path into v, whose version field is *version, as
// Decode does; a file larger than k.MaxSize is k.ErrFormat. A missing file
// leaves v as it is and reports false: for files that start empty (contacts,
// pins).
func (k Kind) Load(path string, v any, version *int) (bool, error) {
	data, err := ReadLimited(path, k.MaxSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case errors.Is(err, ErrTooLarge):
		return false, fmt.Errorf("%w: larger than %d bytes", k.ErrFormat, k.MaxSize)
	case err != nil:
		return false, err
	}
	return true, k.Decode(data, v, version)
}

// Save writes v to path as Write does, replacing any file, after creating
// path's directory (mode 0700) if need be.
func (k Kind) Save(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return k.Write(path, v, true)
}

// Encode returns v as Write writes it: indented JSON and a newline.
func Encode(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	return append(data, '\n'), err
}

// Write writes v as indented JSON and a newline to path with mode k.Mode,
// atomically. It refuses to replace a file (k.ErrExists) unless overwrite
// is set.
func (k Kind) Write(path string, v any, overwrite bool) error {
	data, err := Encode(v)
	if err != nil {
		return err
	}
	err = atomicfile.Write(path, data, k.Mode, overwrite)
	if errors.Is(err, fs.ErrExist) {
		return k.ErrExists
	}
	return err
}
