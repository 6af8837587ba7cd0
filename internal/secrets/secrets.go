// Package secrets loads and stores the server's own secrets: the data key
// that encrypts secrets at rest, and the files that hold them. Secrets are
// read from the environment or from files named in the configuration, and
// generated on first start into the data directory with mode 0600.
package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DataKeySize is the size of the data key: 256 bits, for AES-256-GCM.
const DataKeySize = 32

// WriteFile writes data to path atomically (a temporary file in the same
// directory, synced, then renamed) with mode 0600.
func WriteFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// DataKey returns the 256-bit data key: from fromEnv (base64url, unpadded)
// when it is set, else from the file at path, which is created with a new
// random key when it does not exist. Errors never contain key material.
func DataKey(fromEnv, path string) ([]byte, error) {
	if fromEnv != "" {
		k, err := base64.RawURLEncoding.DecodeString(fromEnv)
		if err != nil || len(k) != DataKeySize {
			return nil, errors.New("secrets: CHUSME_DATA_KEY is not 32 bytes of unpadded base64url")
		}
		return k, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := base64.RawURLEncoding.DecodeString(string(trimNewline(data)))
		if err != nil || len(k) != DataKeySize {
			return nil, fmt.Errorf("secrets: data key file %s is not 32 bytes of unpadded base64url", path)
		}
		return k, nil
	case errors.Is(err, os.ErrNotExist):
		k := make([]byte, DataKeySize)
		rand.Read(k)
		if err := WriteFile(path, []byte(base64.RawURLEncoding.EncodeToString(k)+"\n")); err != nil {
			return nil, err
		}
		return k, nil
	default:
		return nil, err
	}
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
