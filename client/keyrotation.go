package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
)

// Files beside an identity key file at PATH while RotateKeyFile runs and
// after it.
const (
	// RotationNewSuffix names PATH.new: the rotated-to key, written before
	// the server hears of it and renamed over PATH once the server has
	// accepted it.
	RotationNewSuffix = ".new"
	// RotationOldSuffix names PATH.old: a copy of the rotated-from key file,
	// kept because it is the key that can cancel the rotation for
	// chusme.RotationCancelWindow.
	RotationOldSuffix = ".old"
)

// Errors of the key-file rotation.
var (
	// ErrRotationUnknown means RotateKeyFile can't tell whether the server
	// took the rotation (the request or its answer was lost). Both keys are
	// kept; FinishKeyFileRotation settles it from the server's chain.
	ErrRotationUnknown = errors.New("client: the rotation's outcome is unknown; both keys are kept")
	// ErrRotationPending means PATH.new exists: an earlier rotation did not
	// finish. FinishKeyFileRotation settles it first.
	ErrRotationPending = errors.New("client: an earlier rotation of this key file is unfinished")
)

// KeyFilePassphrase returns the passphrase of the key file at path (asking
// the user, for example). Its caller wipes the result after use.
type KeyFilePassphrase func(path string) ([]byte, error)

// RotateKeyFile rotates the identity of the key file at path to a new key,
// crash-safe on the client:
//
//  1. the new key is sealed under the file's passphrase (Argon2id
//     parameters p) into PATH.new, and PATH is copied to PATH.old, before
//     the server hears of the new key;
//  2. the rotation is submitted (Rotate);
//  3. once the server has accepted it, PATH.new is renamed over PATH.
//
// If the server refuses the rotation, PATH.new goes and PATH.old is what it
// was before. If the outcome is unknown, it returns ErrRotationUnknown
// (wrapped) and leaves both files for FinishKeyFileRotation; a PATH.new left
// from before gives ErrRotationPending. PATH.old stays after a rotation: it
// can cancel it (CancelKeyFileRotation).
//
// It returns the rotation's chain entry and the new key. Every session of
// the identity has ended: log in again with the new key (and
// LoginFingerprint). The caller wipes the key.
func (c *Client) RotateKeyFile(ctx context.Context, path string, passphrase KeyFilePassphrase, p vault.Params) (chusme.ChainEntry, ed25519.PrivateKey, error) {
	newPath, oldPath := path+RotationNewSuffix, path+RotationOldSuffix
	if _, err := os.Lstat(newPath); err == nil {
		return chusme.ChainEntry{}, nil, fmt.Errorf("%w: %s exists", ErrRotationPending, newPath)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	kf, err := keyfile.Parse(raw)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	fp := kf.IdentityFingerprint()
	pass, err := passphrase(path)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	defer clear(pass)
	oldKey, err := kf.Open(pass)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	defer clear(oldKey)
	_, newKey, err := ed25519.GenerateKey(nil)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			clear(newKey)
		}
	}()

	// 1. Both keys on disk before the server hears of the new one.
	if err := keyfile.SaveFor(newPath, fp, newKey, pass, p, false); err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	// A refused rotation puts back the PATH.old of an earlier one: it may
	// still be needed to cancel that one.
	prevOld, prevErr := os.ReadFile(oldPath)
	if err := keyfile.WriteBytes(oldPath, raw); err != nil {
		os.Remove(newPath)
		return chusme.ChainEntry{}, nil, err
	}

	// 2. The rotation.
	entry, err := c.Rotate(ctx, fp, oldKey, newKey)
	if err != nil {
		if chusme.ErrorCode(err) == chusme.CodeInternal || !errors.As(err, new(*chusme.Error)) {
			return chusme.ChainEntry{}, nil, fmt.Errorf("%w: %w", ErrRotationUnknown, err)
		}
		// The server refused it: nothing changed there.
		os.Remove(newPath)
		if prevErr == nil {
			keyfile.WriteBytes(oldPath, prevOld)
		} else {
			os.Remove(oldPath)
		}
		return chusme.ChainEntry{}, nil, err
	}

	// 3. The server has the new key: make it the local one.
	if err := os.Rename(newPath, path); err != nil {
		return chusme.ChainEntry{}, nil, fmt.Errorf("client: the rotation is done but %s could not replace %s: %w", newPath, path, err)
	}
	ok = true
	return entry, newKey, nil
}

// FinishKeyFileRotation settles a rotation of the key file at path that
// RotateKeyFile left unfinished (ErrRotationUnknown, or a crash): if the key
// in PATH.new is the identity's current key on its verified chain, PATH.new
// replaces PATH and it reports true; otherwise the rotation never reached
// the server, PATH.new is removed and it reports false. With no PATH.new it
// does nothing and reports false.
func (c *Client) FinishKeyFileRotation(ctx context.Context, path string) (bool, error) {
	newPath := path + RotationNewSuffix
	kf, err := keyfile.Read(newPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, cur, err := c.VerifiedChain(ctx, kf.IdentityFingerprint())
	if err != nil {
		return false, err
	}
	if cur.Equal(ed25519.PublicKey(kf.PublicKey)) {
		return true, os.Rename(newPath, path)
	}
	return false, os.Remove(newPath)
}

// CancelKeyFileRotation cancels, within chusme.RotationCancelWindow, the
// identity's last rotation with the key it replaced: the key file at path
// (a rotation made elsewhere) or PATH.old (one RotateKeyFile made), opened
// with passphrase. PATH.old, when it signed, becomes PATH again. It returns
// the cancellation's chain entry and the restored key; every session of the
// identity has ended. The caller wipes the key.
func (c *Client) CancelKeyFileRotation(ctx context.Context, path string, passphrase KeyFilePassphrase) (chusme.ChainEntry, ed25519.PrivateKey, error) {
	kf, err := keyfile.Read(path)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	fp := kf.IdentityFingerprint()
	head, err := c.PendingRotation(ctx, fp)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	signer := path
	if !ed25519.PublicKey(kf.PublicKey).Equal(ed25519.PublicKey(head.OldKey)) {
		signer = path + RotationOldSuffix
		if kf, err = keyfile.Read(signer); err != nil || !ed25519.PublicKey(kf.PublicKey).Equal(ed25519.PublicKey(head.OldKey)) {
			return chusme.ChainEntry{}, nil, fmt.Errorf("client: neither %s nor %s is the key the last rotation replaced", path, signer)
		}
	}
	pass, err := passphrase(signer)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	key, err := kf.Open(pass)
	clear(pass)
	if err != nil {
		return chusme.ChainEntry{}, nil, err
	}
	entry, err := c.CancelRotation(ctx, fp, key)
	if err != nil {
		clear(key)
		return chusme.ChainEntry{}, nil, err
	}
	if signer != path {
		// The restored key is the identity key again.
		if err := os.Rename(signer, path); err != nil {
			clear(key)
			return chusme.ChainEntry{}, nil, fmt.Errorf("client: the rotation is cancelled but %s could not replace %s: %w", signer, path, err)
		}
	}
	return entry, key, nil
}
