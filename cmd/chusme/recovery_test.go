package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// recovery add prints a recovery key once; on a new machine recover reads
// it (lowercase, spaces: as typed), makes a new key and logs in; the old
// device's login then says its key was replaced and what to do.
func TestRecoveryCLI(t *testing.T) {
	user, fp := registeredUser(t, servertest.Start(t))
	s := user.env["CHUSME_SERVER"]

	var added struct {
		Fingerprint string `json:"fingerprint"`
		Priority    int    `json:"priority"`
		RecoveryKey string `json:"recovery_key"`
	}
	user.okJSON(&added, "recovery", "add")
	if added.Fingerprint != fp || added.Priority != 1 || len(added.RecoveryKey) != 14*5-1 {
		t.Fatalf("recovery add = %+v", added)
	}
	user.ok("whoami") // logged in again after the change
	var verified struct {
		RecoveryKeys int `json:"recovery_keys"`
	}
	user.okJSON(&verified, "identity", "verify", fp)
	if verified.RecoveryKeys != 1 {
		t.Fatalf("identity verify shows %d recovery keys, want 1", verified.RecoveryKeys)
	}

	machine := newCLI(t, s, "new passphrase")
	dir := t.TempDir()
	typed := strings.ToLower(strings.ReplaceAll(added.RecoveryKey, "-", " "))
	mistyped := []byte(typed)
	if mistyped[0] == 'a' {
		mistyped[0] = 'b'
	} else {
		mistyped[0] = 'a'
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyPath := filepath.Join(machine.env["CHUSME_CONFIG_DIR"], "identity.key")
	msg := machine.fails("client_error", "recover", "--fingerprint", fp, "--recovery-key-file", write("bad", string(mistyped)))
	if !strings.Contains(msg, "mistyped") {
		t.Fatalf("recover with a mistyped key: %q", msg)
	}
	machine.fails(chusme.CodeNotRecoveryKey, "recover", "--fingerprint", fp, "--recovery-key-file", write("other", chusme.RecoveryKeyText(make([]byte, 32))))
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a refused recovery left a key file")
	}
	var entry chusme.ChainEntry
	machine.okJSON(&entry, "recover", "--fingerprint", fp, "--recovery-key-file", write("good", typed))
	if entry.Kind != chusme.EntryRecover {
		t.Fatalf("recover = %+v", entry)
	}
	var me chusme.Me
	machine.okJSON(&me, "whoami")
	if me.Fingerprint != fp {
		t.Fatalf("whoami on the new machine: %+v", me)
	}
	machine.fails("client_error", "recover", "--fingerprint", fp, "--recovery-key-file", write("again", typed)) // the key file exists now

	// The old device: its session is gone, and its login explains why.
	user.fails(chusme.CodeSessionRevoked, "whoami")
	msg = user.fails(chusme.CodeKeyRotated, "login")
	if !strings.Contains(msg, "replaced") || !strings.Contains(msg, "chusme recover") || !strings.Contains(msg, "chusme rotate cancel") {
		t.Fatalf("login with the replaced key: %q", msg)
	}
}
