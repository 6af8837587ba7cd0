package client

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/internal/jsonfile"
	"github.com/chusme/chusme/client/vault"
)

// A backup state file (the CLI's CONFIG/backup.key: mode 0600, written
// atomically) is a device's record of its identity's backup: the backup's
// key material (vault.Key.MarshalBinary) sealed under the identity key
// file's passphrase, so that the device re-seals the backup after a change
// (UpdateBackup) without asking the backup passphrase again, and what the
// device last pushed.

// BackupKeyPurpose is the vault purpose of the backup's key material in a
// backup state file.
const BackupKeyPurpose = chusme.VaultPurposeBackupKey

// ErrBackupStateFile means a backup state file is not one this client
// wrote.
var ErrBackupStateFile = errors.New("client: not a backup state file")

const (
	backupStateVersion = 1
	// maxBackupStateSize bounds the file: 255 shares take about 30 KiB.
	maxBackupStateSize = 64 << 10
)

var backupStateKind = jsonfile.Kind{Version: backupStateVersion, MaxSize: maxBackupStateSize, Mode: FileMode, ErrFormat: ErrBackupStateFile}

// BackupState is the content of a backup state file.
type BackupState struct {
	Version  int             `json:"version"`
	Identity string          `json:"identity"`  // the identity whose backup it is
	Key      chusme.Bytes    `json:"key"`       // a vault, purpose BackupKeyPurpose, holding the backup's key material
	ETag     string          `json:"etag"`      // the blob's ETag after the device's last push (or its restore)
	PushedAt time.Time       `json:"pushed_at"` // when
	Shares   []BackedUpShare `json:"shares"`    // the shares the blob held then, by key id
	// Dropped holds the keys the identity no longer holds a share of: the
	// blob's then, and those this device recorded since (Drop), which its
	// next push carries.
	Dropped []DroppedShare `json:"dropped,omitempty"`
}

// BackedUpShare is a share a backup holds: its key id and generation.
type BackedUpShare struct {
	KeyID      string `json:"key_id"`
	Generation int    `json:"generation"`
}

// NewBackupState returns the state of identity's backup sealed under k: k's
// key material sealed under passphrase (the identity key file's) with
// Argon2id parameters p, and nothing pushed yet.
func NewBackupState(identity string, k *vault.Key, passphrase []byte, p vault.Params) (*BackupState, error) {
	if k.Purpose() != BackupPurpose {
		return nil, fmt.Errorf("client: the backup's key has purpose %s, not %s", k.Purpose(), BackupPurpose)
	}
	material, err := k.MarshalBinary()
	if err != nil {
		return nil, err
	}
	defer clear(material)
	sealed, err := vault.Seal(passphrase, BackupKeyPurpose, material, p)
	if err != nil {
		return nil, err
	}
	return &BackupState{Version: backupStateVersion, Identity: identity, Key: sealed, Shares: []BackedUpShare{}}, nil
}

// OpenKey opens the backup's key with passphrase, the identity key file's
// (vault.ErrDecrypt, wrapped, if it is wrong). The caller Wipes it.
func (st *BackupState) OpenKey(passphrase []byte) (*vault.Key, error) {
	material, err := vault.Open(passphrase, BackupKeyPurpose, st.Key)
	if err != nil {
		return nil, fmt.Errorf("client: the backup's key: %w", err)
	}
	defer clear(material)
	k := new(vault.Key)
	if err := k.UnmarshalBinary(material); err != nil {
		return nil, fmt.Errorf("%w: the backup's key: %v", ErrBackupStateFile, err)
	}
	if k.Purpose() != BackupPurpose {
		k.Wipe()
		return nil, fmt.Errorf("%w: the backup's key has purpose %s", ErrBackupStateFile, k.Purpose())
	}
	return k, nil
}

// Record notes that the blob, with ETag etag since time at, holds b's
// shares and dropped shares.
func (st *BackupState) Record(etag string, at time.Time, b *Backup) {
	st.ETag, st.PushedAt, st.Shares = etag, at.UTC().Truncate(time.Second), []BackedUpShare{}
	for _, s := range b.Shares {
		st.Shares = append(st.Shares, BackedUpShare{KeyID: s.KeyID, Generation: s.Generation})
	}
	st.Dropped = slices.Clone(b.Dropped)
}

// Drop records that the identity no longer holds a share of key d.KeyID
// from generation d.Generation on, for the next push to carry (Backup.Drop
// it into the backup pushed): until then the blob may still hold the
// share.
func (st *BackupState) Drop(d DroppedShare) {
	st.Dropped = addDropped(st.Dropped, d)
}

// Holds reports whether the blob held the share of key keyID in generation
// generation when the state was recorded.
func (st *BackupState) Holds(keyID string, generation int) bool {
	for _, s := range st.Shares {
		if s.KeyID == keyID && s.Generation == generation {
			return true
		}
	}
	return false
}

// SaveBackupState writes st to path (mode 0600, atomically), replacing any
// file, creating path's directory if need be.
func SaveBackupState(path string, st *BackupState) error {
	return backupStateKind.Save(path, st)
}

// LoadBackupState reads the backup state file at path: os.ErrNotExist if
// there is none, ErrBackupStateFile (wrapped) if it is malformed.
func LoadBackupState(path string) (*BackupState, error) {
	st := new(BackupState)
	ok, err := backupStateKind.Load(path, st, &st.Version)
	if err == nil && !ok {
		err = os.ErrNotExist
	}
	if err == nil && (!chusme.ValidFingerprint(st.Identity) || len(st.Key) == 0) {
		err = fmt.Errorf("%w: no identity or no key", ErrBackupStateFile)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}
