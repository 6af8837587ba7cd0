package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
)

// recovery runs recovery add and recovery sign-for.
func (e *env) recovery(args []string) error {
	return e.runSub("recovery", args, sub{"add", e.recoveryAdd}, sub{"sign-for", e.recoverySignFor})
}

// recoveryAdd makes a recovery key, registers it as the identity's
// lowest-priority recovery key (signed by the identity key and by the new
// key) and prints it once, as text to write down (chusme.RecoveryKeyText).
// The server ended every session: it logs in again.
//
// With --guardians KEY it registers instead group key KEY, held by
// guardians: the owner holds nothing of it, and a guardian's recovery
// sign-for has their signing ceremony sign the statement (guardianKey).
func (e *env) recoveryAdd(args []string) error {
	fs := e.flags("recovery add")
	guardians := fs.String("guardians", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	return e.withKey(func(c *client.Client, key ed25519.PrivateKey) error {
		fp, err := e.identityFingerprint()
		if err != nil {
			return err
		}
		if *guardians != "" {
			return e.addGuardianKey(c, key, fp, *guardians)
		}
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		defer clear(seed)
		rk := ed25519.NewKeyFromSeed(seed)
		defer clear(rk)
		entry, err := c.AddRecoveryKey(e.ctx, fp, client.LocalKey(key), client.LocalKey(rk))
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

// addGuardianKey registers group key keyArg (its guardians' key) as
// identity fp's lowest-priority recovery key, signed by key and by the
// guardians, and logs in again.
func (e *env) addGuardianKey(c *client.Client, key ed25519.PrivateKey, fp, keyArg string) error {
	keyID, err := e.keyIDArg("recovery add: --guardians", keyArg)
	if err != nil {
		return err
	}
	gk, err := c.GroupKey(e.ctx, keyID)
	if err != nil {
		return err
	}
	entry, err := c.AddRecoveryKey(e.ctx, fp, client.LocalKey(key), e.guardianKey(gk.PublicKey, keyID))
	if err != nil {
		return err
	}
	if _, err := c.Login(e.ctx, key, e.loginOptions("")...); err != nil && !e.json {
		fmt.Fprintf(e.stderr, "Logging in again failed (%v); run chusme login.\n", err)
	}
	if !e.json {
		fmt.Fprintln(e.stderr, "Guardian key added: it outranks this device's key. On a new machine, chusme recover --fingerprint "+fp+" --guardians "+keyID+
			" asks its guardians to recover the identity.")
	}
	return e.output(struct {
		Fingerprint string       `json:"fingerprint"`
		Seq         uint64       `json:"seq"`
		Priority    int          `json:"priority"`
		PublicKey   chusme.Bytes `json:"public_key"`
		KeyID       string       `json:"key_id"`
	}{fp, entry.Seq, len(entry.RecoveryKeys), gk.PublicKey, keyID}, func(w io.Writer) {
		fmt.Fprintf(w, "priority\t%d of %d\n", len(entry.RecoveryKeys), len(entry.RecoveryKeys))
		fmt.Fprintf(w, "guardian key\t%s\n", keyID)
	})
}

// guardianKey is the signer of recovery key pub, group key keyID held by
// guardians: it prints the statement as the request a guardian passes to
// recovery sign-for, then reads the group signature (hex) that command
// printed from standard input. The statement is valid for
// chusme.MaxStatementSkew: the guardians sign it within that time.
func (e *env) guardianKey(pub []byte, keyID string) client.RemoteKey {
	return client.RemoteKey{Key: pub, Sign: func(_ context.Context, statement []byte) ([]byte, error) {
		sum := sha256.Sum256(statement)
		fmt.Fprintf(e.stderr, "Ask a guardian to run, within %s:\n  chusme recovery sign-for %s --key %s\n"+
			"Each guardian's prompt shows what it does; its message sha256 is %x.\n",
			chusme.MaxStatementSkew, base64.RawURLEncoding.EncodeToString(statement), keyID, sum)
		line, err := e.askLine("Group signature (hex): ", "no group signature: paste the signature chusme recovery sign-for printed")
		if err != nil {
			return nil, chusme.Errorf(codeNotApproved, "%v", err)
		}
		sig, err := hex.DecodeString(line)
		if err != nil || len(sig) != ed25519.SignatureSize {
			return nil, chusme.Errorf(codeNotApproved, "the group signature is 128 hex digits")
		}
		if !ed25519.Verify(pub, statement, sig) {
			return nil, chusme.Errorf(codeNotApproved, "the signature is not the guardians' over this statement (a request of another run?)")
		}
		return sig, nil
	}}
}

// recoverySignFor is a guardian's part: it reads a recovery statement (the
// request text that recover --guardians or recovery add --guardians
// printed), checks that it extends the identity's verified chain and that
// the guardian's group key KEY is the one it asks to sign, shows it, and
// starts the signing ceremony of the statement among --signers (or every
// holder) and takes part, printing the signature for the requester.
func (e *env) recoverySignFor(args []string) error {
	fs := e.flags("recovery sign-for")
	keyArg := fs.String("key", "", "")
	signersFlag := fs.String("signers", "", "")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *keyArg == "" {
		return usagef("recovery sign-for: give the request text the owner's device printed, and --key KEY")
	}
	statement, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(rest[0]))
	if err != nil {
		return usagef("recovery sign-for: the request is base64url text, as printed")
	}
	issuer, fp, st, err := chusme.ParseRecoveryStatement(statement)
	if err != nil {
		return err
	}
	keyID, err := e.keyIDArg("recovery sign-for: --key", *keyArg)
	if err != nil {
		return err
	}
	signers, err := e.fingerprintList("recovery sign-for", "--signers", *signersFlag)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if issuer != c.Issuer() {
		return chusme.Errorf(chusme.CodeInvalidRequest, "the statement is for server %s, not %s", issuer, c.Issuer())
	}
	ch, _, err := c.VerifiedChain(e.ctx, fp)
	if err != nil {
		return err
	}
	if head := ch.Head(); st.Seq != head.Seq+1 || !bytes.Equal(st.Prev, head.Hash) {
		return chusme.Errorf(chusme.CodeConflict, "the statement does not follow identity %s's chain head (%s): ask for a new request", fp, head)
	}
	u, sh, err := e.unlockShare(keyID)
	if err != nil {
		return err
	}
	defer u.wipe()
	defer sh.Zero()
	pub := sh.PublicKeyPackage.VerifyingKey().Bytes()
	if !bytes.Equal(st.Signer, pub) && (st.Kind != chusme.EntryRecoveryKeys || !slices.ContainsFunc(st.RecoveryKeys, func(k chusme.Bytes) bool { return bytes.Equal(k, pub) })) {
		return chusme.Errorf(chusme.CodeInvalidRequest, "the statement is not for key %s to sign", keyID)
	}
	fmt.Fprintf(e.stderr, "Signing for identity %s: %s\n", fp, describeStatement(e.contactNames(), statement))
	return e.signMessage(c, u, sh, statement, signers, 0, false, "")
}

// describeStatement says what recovery statement msg does, with the
// contact name of its identity; "" if msg is not one.
func describeStatement(names contactNames, msg []byte) string {
	_, fp, st, err := chusme.ParseRecoveryStatement(msg)
	if err != nil {
		return ""
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	switch st.Kind {
	case chusme.EntryRecover:
		return fmt.Sprintf("rotate identity %s to device key %s, by recovery key %s (entry %d)", names.label(fp), b64(st.NewKey), b64(st.Signer), st.Seq)
	case chusme.EntryRecoveryKeys:
		ks := make([]string, len(st.RecoveryKeys))
		for i, k := range st.RecoveryKeys {
			ks[i] = b64(k)
		}
		return fmt.Sprintf("register recovery keys [%s] for identity %s, device key %s (entry %d)", strings.Join(ks, ", "), names.label(fp), b64(st.NewKey), st.Seq)
	case chusme.EntryDeviceRemove:
		return fmt.Sprintf("remove device key %s of identity %s, by recovery key %s (entry %d)", b64(st.OldKey), names.label(fp), b64(st.Signer), st.Seq)
	default:
		return fmt.Sprintf("cancel entry %d of identity %s, restoring device key %s, by recovery key %s", st.Cancels, names.label(fp), b64(st.NewKey), b64(st.Signer))
	}
}

// recover rotates the identity's device key on a new machine by a recovery
// key: it reads the recovery key's text, makes a new identity key and seals
// it into the key file (before the server hears of it), has both sign the
// recovery rotation and logs in. A refused recovery removes the key file.
// With --guardians KEY, the recovery key is group key KEY of the
// identity's guardians, who sign the rotation (guardianKey).
func (e *env) recover(args []string) error {
	fs := e.flags("recover")
	fpFlag := fs.String("fingerprint", "", "")
	guardians := fs.String("guardians", "", "")
	keyFile := fs.String("recovery-key-file", "", "")
	code := fs.String("totp-code", "", "")
	force := fs.Bool("force", false, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *guardians != "" && *keyFile != "" {
		return usagef("recover: give --guardians KEY or --recovery-key-file F, not both")
	}
	fp, path, err := e.newKeyFileFor("recover", *fpFlag, *force)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	var rk client.KeySigner
	if *guardians != "" {
		rk, err = e.guardiansOf(c, fp, *guardians)
	} else {
		var priv ed25519.PrivateKey
		priv, err = e.recoveryKey(*keyFile)
		defer clear(priv)
		rk = client.LocalKey(priv)
	}
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

// recoveryKey reads a recovery key's text (recoveryKeyText) and returns
// its private key; the caller wipes it.
func (e *env) recoveryKey(file string) (ed25519.PrivateKey, error) {
	text, err := e.recoveryKeyText(file)
	if err != nil {
		return nil, err
	}
	seed, err := chusme.ParseRecoveryKey(text)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return ed25519.NewKeyFromSeed(seed), nil
}

// guardiansOf returns the signer of identity fp's recovery key whose group
// key id is keyArg or starts with it (8 hex digits or more): the new
// device holds no share, so the recovery keys of the verified chain name it.
func (e *env) guardiansOf(c *client.Client, fp, keyArg string) (client.KeySigner, error) {
	id := strings.ToLower(keyArg)
	if !chusme.ValidFingerprint(id) && !isHexPrefix(id, 64) {
		return nil, usagef("recover: --guardians %q is not a key id (64 hex digits, or the first 8 or more)", keyArg)
	}
	rks, err := c.RecoveryKeys(e.ctx, fp)
	if err != nil {
		return nil, err
	}
	for _, r := range rks {
		if keyID := chusme.GroupKeyID(r); strings.HasPrefix(keyID, id) {
			return e.guardianKey(r, keyID), nil
		}
	}
	return nil, chusme.Errorf(chusme.CodeNotRecoveryKey, "recover: no recovery key of %s has key id %s", fp, keyArg)
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
