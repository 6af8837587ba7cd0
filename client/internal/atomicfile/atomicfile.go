// Package atomicfile writes small secret files atomically: a temporary file
// in the same directory, written and synced, then moved into place, so that a
// crash leaves either the old file or the new one and never half of one.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path with the given mode. If overwrite is false and
// path exists, it returns an error satisfying errors.Is(err, fs.ErrExist)
// and leaves the existing file alone.
func Write(path string, data []byte, mode fs.FileMode, overwrite bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if overwrite {
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	} else {
		// A hard link fails atomically if path exists, where a rename would
		// replace it.
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w", path, fs.ErrExist)
			}
			return err
		}
		os.Remove(tmp)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable; best effort (not every platform can sync a
// directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
