package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
)

// totpPendingFile is where totp enable keeps an enrolment until a code
// confirms it (mode 0600; it holds the TOTP secret, as the app does).
const totpPendingFile = "totp-pending.json"

// codeTOTPNotPending: totp enable --code found no enrolment to confirm.
const codeTOTPNotPending = "totp_not_pending"

// totpOutput is what totp enable prints: the enrolment while it waits for
// a code, then the recovery codes.
type totpOutput struct {
	Status        string   `json:"status"` // "pending" or "on"
	URI           string   `json:"uri,omitempty"`
	Secret        string   `json:"secret,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
}

// totpEnable runs totp enable: without a code it starts an enrolment (a
// new secret, replacing a pending one), keeps it in CONFIG, shows its QR
// code and URI, and asks for the app's code when a person is at the
// terminal; with --code it confirms the pending enrolment, so a script can
// run "totp enable --json" then "totp enable --code C --json".
func (e *env) totpEnable(c *client.Client, code string) error {
	dir, err := e.config()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, totpPendingFile)
	// The identity key signs the confirmation: unlock it first, so that a
	// wrong passphrase leaves nothing half done.
	key, err := e.loadKey()
	if err != nil {
		return err
	}
	defer clear(key)
	var en chusme.TOTPEnrolment
	if code == "" {
		if en, err = c.EnrolTOTP(e.ctx); err != nil {
			return err
		}
		if err := client.SavePendingTOTP(path, en); err != nil {
			return err
		}
		if !e.json {
			fmt.Fprintf(e.stderr, "Add this account to your authenticator app (%s):\n\n", en.Issuer)
			if err := drawQR(e.stderr, en.URI); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "\n%s\n\nsecret: %s\n\n", en.URI, en.Secret)
		}
		if !e.interactive() {
			return e.output(totpOutput{Status: "pending", URI: en.URI, Secret: en.Secret}, func(w io.Writer) {
				fmt.Fprintln(w, "TOTP is not on yet: run  chusme totp enable --code CODE  with the code the app shows.")
			})
		}
		if code, err = e.askLine("Code shown by the app: ", "pass the app's current code with chusme totp enable --code CODE"); err != nil {
			return err
		}
	} else {
		if en, err = client.LoadPendingTOTP(path); errors.Is(err, os.ErrNotExist) {
			return chusme.Errorf(codeTOTPNotPending, "no TOTP enrolment is waiting for a code here: run chusme totp enable first, then --code with the app's code")
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	codes, err := c.ConfirmTOTP(e.ctx, key, en, code)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if !e.json {
		fmt.Fprintln(e.stderr, "TOTP is on. Keep these recovery codes somewhere safe; each logs in once instead of a code:")
	}
	return e.output(totpOutput{Status: "on", RecoveryCodes: codes}, func(w io.Writer) {
		for _, rc := range codes {
			fmt.Fprintln(w, rc)
		}
	})
}

// interactive reports whether a person answers prompts: standard input is
// a terminal and the output is not for a script (--json).
func (e *env) interactive() bool {
	f, ok := e.stdin.(*os.File)
	return ok && !e.json && term.IsTerminal(int(f.Fd()))
}
