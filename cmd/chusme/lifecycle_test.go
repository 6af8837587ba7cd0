package main

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
)

var secretLine = regexp.MustCompile(`secret: ([A-Z2-7]+)\n`)

// totpEnable runs `chusme totp enable` interactively: it waits for the
// secret on stderr, then types the current code on stdin as a user reading
// the app would. It returns the secret, the recovery codes and stderr.
func (c *cli) totpEnable() ([]byte, []string, string) {
	c.t.Helper()
	// Not at a terminal: the enrolment waits for --code.
	var pending totpOutput
	c.okJSON(&pending, "totp", "enable")
	_, shown, err := c.run("totp", "enable") // a second enrolment replaces the first
	if err != nil || pending.Status != "pending" {
		c.t.Fatalf("totp enable: %v %+v", err, pending)
	}
	// The server's URL has a port, which the label's issuer must not
	// write with a colon: "issuer:account" has one.
	if u, err := url.Parse(pending.URI); err != nil || strings.Count(u.Path, ":") != 1 || !strings.Contains(u.Path, ", port ") {
		c.t.Fatalf("otpauth URI %s: the label is not issuer:account", pending.URI)
	}
	m := secretLine.FindStringSubmatch(shown)
	if m == nil {
		c.t.Fatalf("totp enable printed no secret: %s", shown)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		c.t.Fatal(err)
	}
	// The first enrolment's secret no longer confirms; the second's does.
	first, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(pending.Secret)
	if !bytes.Equal(first, secret) {
		c.fails(chusme.CodeTOTPInvalid, "totp", "enable", "--code", auth.TOTPCode(first, time.Now()))
	}
	var on totpOutput
	c.okJSON(&on, "totp", "enable", "--code", auth.TOTPCode(secret, time.Now()))
	if on.Status != "on" {
		c.t.Fatalf("totp enable --code: %+v", on)
	}
	c.fails(codeTOTPNotPending, "totp", "enable", "--code", "123456")
	return secret, on.RecoveryCodes, shown
}

func currentKey(t *testing.T, c *cli, fp string) string {
	t.Helper()
	var v struct {
		Fingerprint string `json:"fingerprint"`
		CurrentKey  string `json:"current_key"`
		Entries     int    `json:"entries"`
	}
	c.okJSON(&v, "identity", "verify", fp)
	if v.Fingerprint != fp {
		t.Fatalf("identity verify = %+v", v)
	}
	return v.CurrentKey
}

// registeredUser sets up an administrator on s and returns a CLI user it
// invited (passphrase "user passphrase"), registered, and its fingerprint.
func registeredUser(t *testing.T, s *servertest.Server) (*cli, string) {
	admin := newCLI(t, s.URL, "admin passphrase")
	admin.ok("keygen")
	admin.ok("setup", "--token-file", filepath.Join(s.DataDir, "setup-token"))
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	user := newCLI(t, s.URL, "user passphrase")
	fp := strings.TrimSpace(user.ok("keygen"))
	user.ok("register", "--invite", inv.Invite)
	return user, fp
}

// End to end through the CLI against the real server: TOTP on, login with a
// code, backup, restore on a fresh config directory, rotate, cancel.
func TestLifecycleCLI(t *testing.T) {
	s := servertest.Start(t)
	user, fp := registeredUser(t, s)
	genesisKey := currentKey(t, user, fp)

	// TOTP: the QR code and URI are shown, the first code confirms.
	secret, codes, shown := user.totpEnable()
	if len(codes) != 10 || !strings.Contains(shown, "otpauth://totp/") || !strings.Contains(shown, "█") || !strings.Contains(shown, "▀") {
		t.Fatalf("totp enable showed %q and printed %d codes", shown, len(codes))
	}
	user.fails(chusme.CodeTOTPRequired, "login")
	user.fails(chusme.CodeTOTPInvalid, "login", "--totp-code", "000000")
	user.ok("login", "--totp-code", auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod)))
	user.ok("whoami")

	// Backup, then restore on a fresh config directory.
	user.ok("backup", "push")
	fresh := newCLI(t, s.URL, "wrong passphrase")
	freshKey := filepath.Join(fresh.env["CHUSME_CONFIG_DIR"], "identity.key")
	msg := fresh.fails("client_error", "backup", "restore", "--fingerprint", fp)
	if !strings.Contains(msg, "wrong backup passphrase") {
		t.Fatalf("restore with a wrong passphrase: %q", msg)
	}
	if _, err := os.Stat(freshKey); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed restore wrote %s: %v", freshKey, err)
	}
	fresh.env["CHUSME_PASSPHRASE"] = "user passphrase"
	fresh.ok("backup", "restore", "--fingerprint", fp)
	fresh.fails("client_error", "backup", "restore", "--fingerprint", fp) // the key file exists now
	fresh.ok("login", "--totp-code", codes[0])
	var me chusme.Me
	fresh.okJSON(&me, "whoami")
	if me.Fingerprint != fp {
		t.Fatalf("restored identity is %s, want %s", me.Fingerprint, fp)
	}

	// Rotate: a new key, both keys kept until the server confirmed, the old
	// one kept as identity.key.old for cancelling.
	keyPath := filepath.Join(user.env["CHUSME_CONFIG_DIR"], "identity.key")
	before, _ := os.ReadFile(keyPath)
	var entry chusme.ChainEntry
	user.okJSON(&entry, "rotate")
	if entry.Kind != chusme.EntryRotate || entry.Seq != 1 {
		t.Fatalf("rotate = %+v", entry)
	}
	if old, _ := os.ReadFile(keyPath + ".old"); !bytes.Equal(old, before) {
		t.Fatal("identity.key.old is not the previous key file")
	}
	if _, err := os.Stat(keyPath + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("identity.key.new left behind after a confirmed rotation")
	}
	rotated := currentKey(t, fresh, fp)
	if rotated == genesisKey || rotated != base64.RawURLEncoding.EncodeToString(entry.NewKey) {
		t.Fatal("identity verify does not show the new key")
	}
	// The rotation ended every session: the restored (old) key can't log in.
	fresh.fails(chusme.CodeSessionRevoked, "whoami")
	fresh.fails(chusme.CodeKeyRotated, "login", "--totp-code", codes[1])
	user.ok("login", "--totp-code", codes[2])
	user.okJSON(&me, "whoami")
	if me.Fingerprint != fp {
		t.Fatalf("whoami after rotation: %+v", me)
	}
	// A second rotation within the cancel window is refused, and nothing
	// changes locally.
	after, _ := os.ReadFile(keyPath)
	user.fails(chusme.CodeRotationPending, "rotate")
	if now, _ := os.ReadFile(keyPath); !bytes.Equal(now, after) {
		t.Fatal("a refused rotation changed the key file")
	}

	// Cancel: the old key signs, and becomes the identity key again.
	var cancel chusme.ChainEntry
	user.okJSON(&cancel, "rotate", "cancel")
	if cancel.Kind != chusme.EntryCancel || cancel.Cancels != 1 {
		t.Fatalf("rotate cancel = %+v", cancel)
	}
	if now, _ := os.ReadFile(keyPath); !bytes.Equal(now, before) {
		t.Fatal("rotate cancel did not restore the old key file")
	}
	if currentKey(t, user, fp) != genesisKey {
		t.Fatal("identity verify does not show the restored key")
	}
	// The chain heads verified are pinned in CONFIG/pins.json, owner only.
	pinsPath := filepath.Join(user.env["CHUSME_CONFIG_DIR"], "pins.json")
	if fi, err := os.Stat(pinsPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pins.json: %v, %v", fi, err)
	}
	pin, ok, err := client.NewFilePinStore(pinsPath).Load(t.Context(), s.URL, fp)
	if err != nil || !ok || pin.Seq != cancel.Seq || !bytes.Equal(pin.Hash, cancel.Hash) {
		t.Fatalf("pinned head = %+v, %v, %v; want the cancellation's", pin, ok, err)
	}
	user.fails(chusme.CodeSessionRevoked, "whoami")
	fresh.ok("login", "--totp-code", codes[3])
	user.ok("login", "--totp-code", codes[4])

	// TOTP off with a recovery code; then login needs no code.
	user.ok("totp", "disable", "--code", codes[5])
	user.ok("login")
	user.fails(codeUsage, "identity", "verify", "no/pe")
}
