//go:build linux

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/vault"
)

// On a terminal, the first backup push asks the backup passphrase, a later
// one does not (only the key passphrase, which opens CONFIG/backup.key),
// and --new-passphrase asks a new one, which then opens the blob.
func TestBackupPassphraseAskedOnce(t *testing.T) {
	g := newTrio(t)
	s, alice, aliceFP := g.s, g.alice, g.aliceFP
	bin := buildCLI(t)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TERM=dumb", "CHUSME_SERVER=" + s.URL,
		"CHUSME_CONFIG_DIR=" + alice.env["CHUSME_CONFIG_DIR"], "CHUSME_KDF_MEMORY_KIB=64"}
	opens := func(pass string) bool {
		_, err := openBlob(t, s, aliceFP, pass)
		if err != nil && !errors.Is(err, vault.ErrDecrypt) {
			t.Fatal(err)
		}
		return err == nil
	}
	answers := func(backup string) []answer {
		return []answer{{"Passphrase for ", "alice pw\n", true}, {"New backup passphrase: ", backup + "\n", true}, {"Repeat the passphrase: ", backup + "\n", true}}
	}

	screen, err := inShellAnswering(t, env, bin+" backup push && "+bin+" backup push", answers("first backup pw"))
	if err != nil || strings.Count(screen, "New backup passphrase") != 1 || strings.Count(screen, "Passphrase for ") != 2 {
		t.Fatalf("two pushes: %v\n%s", err, screen)
	}
	if !opens("first backup pw") {
		t.Fatal("the blob does not open with the backup passphrase")
	}
	screen, err = inShellAnswering(t, env, bin+" backup push --new-passphrase", answers("second backup pw"))
	if err != nil || !strings.Contains(screen, "New backup passphrase") {
		t.Fatalf("backup push --new-passphrase: %v\n%s", err, screen)
	}
	if !opens("second backup pw") || opens("first backup pw") {
		t.Fatal("after --new-passphrase the blob does not open with the new passphrase only")
	}
	st, err := client.LoadBackupState(filepath.Join(alice.env["CHUSME_CONFIG_DIR"], backupStateName))
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.OpenKey([]byte("alice pw"))
	if err != nil {
		t.Fatalf("the backup's key does not open with the key passphrase: %v", err)
	}
	k.Wipe()
}
