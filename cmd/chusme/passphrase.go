package main

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

// passphrase returns the key passphrase: from --passphrase-file or
// CHUSME_PASSPHRASE_FILE (its first line), from CHUSME_PASSPHRASE, or asked
// on the terminal without echo — twice when confirm is set (keygen), and
// only by a process in the terminal's foreground. An empty passphrase is
// refused.
func (e *env) passphrase(prompt string, confirm bool) ([]byte, error) {
	if e.passphraseFile != "" {
		b, err := readSmallFile(e.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			clear(b[i:])
			b = b[:i]
		}
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(b) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", e.passphraseFile)
		}
		return b, nil
	}
	if v := e.getenv("CHUSME_PASSPHRASE"); v != "" {
		return []byte(v), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("no passphrase: not on a terminal; use --passphrase-file (or CHUSME_PASSPHRASE_FILE) or CHUSME_PASSPHRASE")
	}
	if !foreground(f) {
		// A background job (&): asking would stop it, and the passphrase
		// typed next would run as a shell command.
		return nil, errors.New("no passphrase: this command runs in the background, where it can't ask; " +
			"set CHUSME_PASSPHRASE_FILE (or --passphrase-file), or run it in the foreground or in another terminal")
	}
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(e.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		return b, nil
	}
	p, err := ask(prompt)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		again, err := ask("Repeat the passphrase: ")
		if err != nil {
			clear(p)
			return nil, err
		}
		same := subtle.ConstantTimeCompare(p, again) == 1
		clear(again)
		if !same {
			clear(p)
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}
