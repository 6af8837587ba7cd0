package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
)

// recovery runs recovery add.
func (e *env) recovery(args []string) error {
	return e.runSub("recovery", args, sub{"add", e.recoveryAdd})
}

// recoveryAdd makes a recovery key, registers it as the identity's
// lowest-priority recovery key (signed by the identity key and by the new
// key) and prints it once, as text to write down (chusme.RecoveryKeyText).
// The server ended every session: it logs in again.
func (e *env) recoveryAdd(args []string) error {
	if err := parseNoArgs(e.flags("recovery add"), args); err != nil {
		return err
	}
	return e.withKey(func(c *client.Client, key ed25519.PrivateKey) error {
		fp, err := e.identityFingerprint()
		if err != nil {
			return err
		}
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		defer clear(seed)
		rk := ed25519.NewKeyFromSeed(seed)
		defer clear(rk)
		entry, err := c.AddRecoveryKey(e.ctx, fp, key, rk)
		if err != nil {
			return err
		}
		text := chusme.RecoveryKeyText(seed)
		if _, err := c.Login(e.ctx, key, e.loginOptions("")...); err != nil && !e.json {
			fmt.Fprintf(e.stderr, "Logging in again failed (%v); run chusme login.\n", err)
		}
		if !e.json {
			fmt.Fprintln(e.stderr, "Recovery key added. Write it down and keep it offline: it is shown only this once.\n"+
				"It outranks this device's key: on a new machine, chusme recover --fingerprint "+fp+" uses it.")
		}
		return e.output(struct {
			Fingerprint string `json:"fingerprint"`
			Seq         uint64 `json:"seq"`
			Priority    int    `json:"priority"`
			PublicKey   string `json:"public_key"`
			RecoveryKey string `json:"recovery_key"`
		}{fp, entry.Seq, len(entry.RecoveryKeys), base64.RawURLEncoding.EncodeToString(rk.Public().(ed25519.PublicKey)), text}, func(w io.Writer) {
			fmt.Fprintf(w, "priority\t%d of %d\n", len(entry.RecoveryKeys), len(entry.RecoveryKeys))
			fmt.Fprintf(w, "recovery key\t%s\n", text)
		})
	})
}

// recover rotates the identity's device key on a new machine by a recovery
// key: it reads the recovery key's text, makes a new identity key and seals
// it into the key file (before the server hears of it), has both sign the
// recovery rotation and logs in. A refused recovery removes the key file.
func (e *env) recover(args []string) error {
	fs := e.flags("recover")
	fpFlag := fs.String("fingerprint", "", "")
	keyFile := fs.String("recovery-key-file", "", "")
	code := fs.String("totp-code", "", "")
	force := fs.Bool("force", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	fp, path, err := e.newKeyFileFor("recover", *fpFlag, *force)
	if err != nil {
		return err
	}
	text, err := e.recoveryKeyText(*keyFile)
	if err != nil {
		return err
	}
	seed, err := chusme.ParseRecoveryKey(text)
	if err != nil {
		return err
	}
	rk := ed25519.NewKeyFromSeed(seed)
	clear(seed)
	defer clear(rk)
	c, err := e.client()
	if err != nil {
		return err
	}
	params, pass, key, err := e.newIdentityKey(path)
	if err != nil {
		return err
	}
	defer clear(pass)
	defer clear(key)
	if err := keyfile.SaveFor(path, fp, key, pass, params, *force); err != nil {
		return err
	}
	entry, err := c.Recover(e.ctx, fp, rk, key)
	var refused *chusme.Error
	if errors.As(err, &refused) && refused.Code != chusme.CodeInternal {
		os.Remove(path)
		return err
	} else if err != nil {
		return fmt.Errorf("%w (the new key is kept in %s: if the recovery reached the server, chusme login works with it)", err, path)
	}
	_, err = c.Login(e.ctx, key, e.loginOptions(*code)...)
	if err != nil && !e.json {
		fmt.Fprintf(e.stderr, "Logging in failed (%v); run chusme login.\n", err)
	}
	if !e.json {
		fmt.Fprintln(e.stderr, "Recovered: the new key in "+path+" is the identity key, every other session has ended, and no device key can cancel this.")
	}
	if st, _, serr := e.backupState(fp); err == nil && serr == nil && st != nil {
		e.backupAfterChange(c, &unlocked{fp: fp, key: key, pass: pass})
	} else if !e.json {
		fmt.Fprintln(e.stderr, "Run chusme backup push to back the new key up.")
	}
	return e.output(entry, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\n", fp)
		fmt.Fprintf(w, "seq\t%d\n", entry.Seq)
		fmt.Fprintf(w, "new key\t%s\n", base64.RawURLEncoding.EncodeToString(entry.NewKey))
	})
}

// newKeyFileFor resolves the --fingerprint of cmd (a command that writes a
// new identity key file for a known identity: backup restore, recover) and
// returns it with the key file's path, which must not exist unless force.
func (e *env) newKeyFileFor(cmd, fp string, force bool) (string, string, error) {
	if fp == "" {
		return "", "", usagef("%s: --fingerprint FP is required", cmd)
	}
	resolved, err := e.resolveFingerprint(cmd+": --fingerprint", fp)
	if err != nil {
		return "", "", err
	}
	path, err := e.keyPath()
	if err != nil {
		return "", "", err
	}
	if _, err := os.Lstat(path); err == nil && !force {
		return "", "", fmt.Errorf("%s exists; use --force to replace it", path)
	}
	return resolved, path, nil
}

// newIdentityKey makes a new identity key to be sealed at path: the vault
// parameters, a new passphrase (asked twice) and the key; it makes path's
// directory. The caller wipes the passphrase and the key.
func (e *env) newIdentityKey(path string) (vault.Params, []byte, ed25519.PrivateKey, error) {
	params, err := e.kdfParams()
	if err != nil {
		return vault.Params{}, nil, nil, err
	}
	pass, err := e.passphrase("New passphrase for the identity key: ", true)
	if err != nil {
		return vault.Params{}, nil, nil, err
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o700)
	}
	if err != nil {
		clear(pass)
		return vault.Params{}, nil, nil, err
	}
	return params, pass, key, nil
}

// recoveryKeyText reads a recovery key's text from file, or else a line
// from standard input.
func (e *env) recoveryKeyText(file string) (string, error) {
	if file == "" {
		return e.askLine("Recovery key: ", "recover: type or paste the recovery key, or give --recovery-key-file F")
	}
	b, err := os.ReadFile(file)
	return strings.TrimSpace(string(b)), err
}
