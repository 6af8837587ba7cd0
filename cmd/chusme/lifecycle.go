package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"rsc.io/qr"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/keys"
)

const lifecycleUsage = `
Identity lifecycle:
  totp enable [--code C]             turn on TOTP: starts an enrolment (kept in CONFIG until confirmed),
                                     shows its otpauth:// URI and QR code and, at a terminal, asks the
                                     first code; with --code C confirms the pending enrolment (scripts:
                                     totp enable --json, then totp enable --code C --json); signs the
                                     confirmation with the identity key, prints 10 single-use recovery codes
  totp disable [--code C]            turn off TOTP (a current code or a recovery code)
  login [--totp-code C]              (with TOTP on, the code is asked for when not given)
  backup push [--new-passphrase]     seal the identity key and every key share under a backup passphrase into
                                     the server's blob; the first push asks the passphrase and keeps the
                                     backup's key in CONFIG/backup.key (sealed with the key passphrase), so that
                                     later pushes, and the updates after a DKG, rotate and rotate cancel, don't
                                     ask it again; --new-passphrase asks a new one
  backup restore --fingerprint FP [--totp-code C] [--force]
                                     fetch and decrypt the backup into an empty config directory: the identity
                                     key, and every share whose group key the server still has, certified by
                                     its participants (it logs in to fetch them); exits with status 1 naming
                                     each share it did not restore
  backup status                      whether the identity has a backup, whether it is the one this device last
                                     pushed, and the shares it holds
  rotate                             replace this device's identity key by a new one, signed by both (ends its
                                     sessions; other devices keep theirs)
  rotate cancel                      within 72 h: cancel the last rotation with the key it replaced
  identity verify FINGERPRINT        verify the identity's chain offline and print its current key
  recovery add [--guardians KEY]     make a recovery key (it outranks the identity key), register it signed by
                                     both keys and print it once, to write down and keep offline (up to 3);
                                     --guardians: register group key KEY of guardians instead, signed by their
                                     signing ceremony (print the request for recovery sign-for, read the
                                     signature it prints)
  recovery sign-for REQUEST --key KEY [--signers FP,…]
                                     a guardian: check the request of recovery add or recover --guardians
                                     against the identity's chain, show it, start the signing ceremony of it
                                     with your share of KEY and print the signature for the requester
  recover --fingerprint FP [--recovery-key-file F | --guardians KEY] [--totp-code C] [--force]
                                     on a new machine: read the recovery key (typed or pasted, or from F), make
                                     a new identity key, rotate to it by the recovery key and log in; no device
                                     key can cancel this (it also overrides a pending rotation); --guardians:
                                     the recovery key is group key KEY, its guardians sign (as above); --force
                                     replaces an identity key file already there
`

// loadIdentityKey reads the identity key file and opens it: the identity's
// fingerprint, the key and the file's path. The caller wipes the key.
func (e *env) loadIdentityKey() (string, ed25519.PrivateKey, string, error) {
	path, err := e.keyPath()
	if err != nil {
		return "", nil, "", err
	}
	key, fp, err := e.openKeyFile(path)
	return fp, key, path, err
}

// openKeyFile opens the key file at path with the passphrase: the key and
// the identity's fingerprint. The caller wipes the key.
func (e *env) openKeyFile(path string) (ed25519.PrivateKey, string, error) {
	u, err := e.unlockFile(path)
	if err != nil {
		return nil, "", err
	}
	clear(u.pass)
	return u.key, u.fp, nil
}

// unlockFile opens the key file at path and keeps the passphrase (for
// sealing key shares under it). The caller wipes the result.
func (e *env) unlockFile(path string) (*unlocked, error) {
	kf, err := keyfile.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no identity key at %s; run chusme keygen or chusme backup restore", path)
	}
	if err != nil {
		return nil, err
	}
	pass, err := e.passphrase(fmt.Sprintf("Passphrase for %s: ", path), false)
	if err != nil {
		return nil, err
	}
	key, err := kf.Open(pass)
	if err != nil {
		clear(pass)
		return nil, err
	}
	return &unlocked{fp: kf.IdentityFingerprint(), key: key, pass: pass}, nil
}

// identityFingerprint returns the fingerprint of the identity of the key
// file, without the passphrase.
func (e *env) identityFingerprint() (string, error) {
	path, err := e.keyPath()
	if err != nil {
		return "", err
	}
	kf, err := keyfile.Read(path)
	if err != nil {
		return "", err
	}
	return kf.IdentityFingerprint(), nil
}

// loginOptions makes Login use the identity of the key file (a rotated key
// is not its genesis key) and ask for a TOTP code when the server needs
// one: code if given, else a line from standard input.
func (e *env) loginOptions(code string) []client.LoginOption {
	var opts []client.LoginOption
	if fp, err := e.identityFingerprint(); err == nil {
		opts = append(opts, client.LoginFingerprint(fp))
	}
	return append(opts, client.LoginTOTP(func(context.Context) (string, error) {
		if code != "" {
			return code, nil
		}
		line, err := e.askLine("TOTP code (or a recovery code): ", "")
		if err != nil || line == "" {
			return "", chusme.Errorf(chusme.CodeTOTPRequired, "this identity needs a TOTP code: pass --totp-code (or a recovery code)")
		}
		return line, nil
	}))
}

// askLine reads one line from standard input, after prompt on a terminal;
// hint is the error when there is none ("" for no error).
func (e *env) askLine(prompt, hint string) (string, error) {
	if e.interactive() {
		fmt.Fprint(e.stderr, prompt)
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 256)).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		if hint == "" {
			return "", nil
		}
		return "", errors.New(hint)
	}
	return line, nil
}

// subcommand parses the global flags before a subcommand and returns it
// with its arguments.
func (e *env) subcommand(name string, args []string, names string) (string, []string, error) {
	fs := e.flags(name)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, helpFor(name)
		}
		return "", nil, usagef("%s: %v", name, err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return "", nil, usagef("%s needs a subcommand: %s", name, names)
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return "", nil, helpFor(name)
	}
	return args[0], args[1:], nil
}

// sub is a subcommand and what runs it with its arguments.
type sub struct {
	name string
	run  func(args []string) error
}

// runSub parses the subcommand of command name (see subcommand) and runs
// the one of subs it names.
func (e *env) runSub(name string, args []string, subs ...sub) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	last := len(names) - 1
	cmd, args, err := e.subcommand(name, args, strings.Join(names[:last], ", ")+" or "+names[last])
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.name == cmd {
			return s.run(args)
		}
	}
	return usagef("unknown %s subcommand %q; run chusme help", name, cmd)
}

// totp runs totp enable and totp disable.
func (e *env) totp(args []string) error {
	sub, args, err := e.subcommand("totp", args, "enable or disable")
	if err != nil {
		return err
	}
	fs := e.flags("totp " + sub)
	code := fs.String("code", "", "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	switch sub {
	case "enable":
		return e.totpEnable(c, *code)
	case "disable":
		if *code == "" {
			if *code, err = e.askLine("Current TOTP code (or a recovery code): ", "pass a current code with --code"); err != nil {
				return err
			}
		}
		if err := c.DisableTOTP(e.ctx, *code); err != nil {
			return err
		}
		return e.output(struct {
			TOTP bool `json:"totp"`
		}{false}, func(w io.Writer) { fmt.Fprintln(w, "TOTP is off") })
	}
	return usagef("unknown totp subcommand %q; run chusme help", sub)
}

// drawQR draws text as a QR code in standard polarity, dark modules as
// the terminal's foreground, with half-block characters (two rows of
// modules per line) and the standard quiet zone of four light modules.
func drawQR(w io.Writer, text string) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("drawing the QR code: %w", err)
	}
	const quiet = 4
	dark := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < code.Size && y < code.Size && code.Black(x, y)
	}
	var b strings.Builder
	for y := -quiet; y < code.Size+quiet; y += 2 {
		for x := -quiet; x < code.Size+quiet; x++ {
			top, bottom := dark(x, y), dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// rotate runs rotate and rotate cancel: client.RotateKeyFile's crash-safe
// sequence on the identity key file (the new key in identity.key.new until
// the server confirmed, the replaced one kept in identity.key.old for 72
// hours). A rotation whose answer was lost is settled by the next chusme
// rotate (client.FinishKeyFileRotation).
func (e *env) rotate(args []string) error {
	fs := e.flags("rotate")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 1 && rest[0] == "cancel" {
		return e.rotateCancel()
	}
	if len(rest) > 0 {
		return usagef("rotate: unexpected argument %q", rest[0])
	}
	path, c, err := e.keyFileClient()
	if err != nil {
		return err
	}
	params, err := e.kdfParams()
	if err != nil {
		return err
	}
	finished, err := c.FinishKeyFileRotation(e.ctx, path)
	if err != nil {
		return err
	}
	if finished {
		if !e.json {
			fmt.Fprintln(e.stderr, "The previous rotation had reached the server: its new key is now the identity key. Run chusme login.")
		}
		if fp, err := e.identityFingerprint(); err == nil {
			if st, _, err := e.backupState(fp); err == nil && st != nil {
				fmt.Fprintln(e.stderr, "Then run chusme backup push: the backup still holds the old key.")
			}
		}
		return e.output(struct {
			Finished bool `json:"finished_previous_rotation"`
		}{true}, func(w io.Writer) { fmt.Fprintln(w, "finished the previous rotation") })
	}
	fp, err := e.identityFingerprint()
	if err != nil {
		return err
	}
	pass, ask := e.keptPassphrase()
	defer clear(*pass)
	entry, newKey, err := c.RotateKeyFile(e.ctx, path, ask, params)
	if errors.Is(err, client.ErrRotationUnknown) {
		return fmt.Errorf("%w (run chusme rotate again to finish or undo it)", err)
	} else if err != nil {
		return err
	}
	until := entry.AcceptedAt.Add(chusme.RotationCancelWindow).Local().Format(time.RFC3339)
	done := fmt.Sprintf("Rotated. Until %s the old key (kept in %s) can cancel this with chusme rotate cancel.", until, path+client.RotationOldSuffix)
	return e.chainChanged(c, &unlocked{fp: fp, key: newKey, pass: *pass}, done, entry, func(w io.Writer) {
		fmt.Fprintf(w, "seq\t%d\n", entry.Seq)
		fmt.Fprintf(w, "new key\t%s\n", base64.RawURLEncoding.EncodeToString(entry.NewKey))
	})
}

// keyFileClient returns the identity key file's path and a client, for the
// commands that change the key file with the server (rotate, rotate
// cancel).
func (e *env) keyFileClient() (string, *client.Client, error) {
	path, err := e.keyPath()
	if err != nil {
		return "", nil, err
	}
	c, err := e.client()
	return path, c, err
}

// keyFilePassphrase asks for the passphrase of the key file at path.
func (e *env) keyFilePassphrase(path string) ([]byte, error) {
	return e.passphrase(fmt.Sprintf("Passphrase for %s: ", path), false)
}

// keptPassphrase returns a client.KeyFilePassphrase that asks as
// keyFilePassphrase does and keeps a copy of the answer in *pass (the
// caller clears it), for the backup update after the change.
func (e *env) keptPassphrase() (*[]byte, client.KeyFilePassphrase) {
	pass := new([]byte)
	return pass, func(path string) ([]byte, error) {
		p, err := e.keyFilePassphrase(path)
		clear(*pass)
		*pass = bytes.Clone(p)
		return p, err
	}
}

// chainChanged ends rotate and rotate cancel, which have ended every
// session: it logs in again with u's key (now the identity key), brings the
// backup up to date (backupAfterChange) and wipes the key, (without --json)
// tells the user done and whether that login failed, and prints entry, as
// text u's fingerprint and then more.
func (e *env) chainChanged(c *client.Client, u *unlocked, done string, entry chusme.ChainEntry, more func(io.Writer)) error {
	_, err := c.Login(e.ctx, u.key, e.loginOptions("")...)
	if !e.json {
		fmt.Fprintln(e.stderr, done)
		if err != nil {
			fmt.Fprintf(e.stderr, "Logging in again failed (%v); run chusme login.\n", err)
		}
	}
	if err == nil {
		e.backupAfterChange(c, u)
	} else if st, _, serr := e.backupState(u.fp); serr == nil && st != nil {
		fmt.Fprintln(e.stderr, "Warning: the backup still holds the replaced key: after chusme login, run chusme backup push.")
	}
	clear(u.key)
	return e.output(entry, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\n", u.fp)
		more(w)
	})
}

// rotateCancel cancels the last rotation with the key it replaced: the
// identity key (a rotation someone else made) or identity.key.old (one made
// here).
func (e *env) rotateCancel() error {
	path, c, err := e.keyFileClient()
	if err != nil {
		return err
	}
	fp, err := e.identityFingerprint()
	if err != nil {
		return err
	}
	pass, ask := e.keptPassphrase()
	defer clear(*pass)
	entry, key, err := c.CancelKeyFileRotation(e.ctx, path, ask)
	if err != nil {
		return err
	}
	return e.chainChanged(c, &unlocked{fp: fp, key: key, pass: *pass}, "Rotation cancelled: the old key is the identity key again, and every session has ended.", entry, func(w io.Writer) {
		fmt.Fprintf(w, "cancelled\t%d\n", entry.Cancels)
	})
}

// identity runs identity verify.
func (e *env) identity(args []string) error {
	sub, args, err := e.subcommand("identity", args, "verify")
	if err != nil {
		return err
	}
	if sub != "verify" {
		return usagef("unknown identity subcommand %q; run chusme help", sub)
	}
	rest, err := parse(e.flags("identity verify"), args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("identity verify: give exactly one FINGERPRINT")
	}
	if rest[0], err = e.resolveFingerprint("identity verify", rest[0]); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	ch, cur, err := c.VerifiedChain(e.ctx, rest[0])
	if err != nil {
		return err
	}
	ks, err := chusme.VerifyChainKeys(ch.Issuer, rest[0], ch.Entries, keys.CheckPublicKey, keys.Verify)
	if err != nil {
		return err
	}
	head := ch.Entries[len(ch.Entries)-1]
	var cancellable time.Time
	if head.Kind == chusme.EntryRotate || head.Kind == chusme.EntryRecover {
		if end := head.AcceptedAt.Add(chusme.RotationCancelWindow); time.Now().Before(end) {
			cancellable = end
		}
	}
	return e.output(struct {
		Fingerprint      string    `json:"fingerprint"`
		CurrentKey       string    `json:"current_key"`
		Entries          int       `json:"entries"`
		CancellableUntil time.Time `json:"cancellable_until,omitzero"`
		RecoveryKeys     int       `json:"recovery_keys"`
	}{rest[0], base64.RawURLEncoding.EncodeToString(cur), len(ch.Entries), cancellable, len(ks.Recovery)}, func(w io.Writer) {
		fmt.Fprintf(w, "fingerprint\t%s\n", rest[0])
		fmt.Fprintf(w, "chain\tverified, %d entries\n", len(ch.Entries))
		fmt.Fprintf(w, "current key\t%x\n", cur)
		fmt.Fprintf(w, "recovery keys\t%d\n", len(ks.Recovery))
		if !cancellable.IsZero() {
			fmt.Fprintf(w, "last rotation\tcancellable until %s\n", formatTime(cancellable))
		}
	})
}
