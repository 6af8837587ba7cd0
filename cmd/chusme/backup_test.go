package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// trio is a server with its administrator and two members, alice and bob,
// each a CLI with its own config directory.
type trio struct {
	s                       *servertest.Server
	admin, alice, bob       *cli
	adminFP, aliceFP, bobFP string
}

func newTrio(t *testing.T) trio {
	t.Helper()
	g := trio{s: servertest.Start(t)}
	g.admin = newCLI(t, g.s.URL, "admin pw")
	g.adminFP = strings.TrimSpace(g.admin.ok("keygen"))
	g.admin.ok("setup", "--token", g.s.SetupToken(t))
	g.alice, g.aliceFP = newMember(t, g.s, g.admin, "alice pw")
	g.bob, g.bobFP = newMember(t, g.s, g.admin, "bob pw")
	return g
}

// dkgCLI runs a DKG of threshold started by starter among it and the
// joiners (whose fingerprints are fps), each taking part from its own
// config directory, and returns what the starter printed.
func dkgCLI(t *testing.T, threshold int, starter *cli, joiners []*cli, fps ...string) dkgOutput {
	t.Helper()
	dkg := starter.start("ceremony", "dkg", "--threshold", strconv.Itoa(threshold), "--participants", strings.Join(fps, ","), "--json")
	id := dkg.ceremonyID(t)
	var joins []*background
	for _, c := range joiners {
		joins = append(joins, c.start("ceremony", "join", id, "--json"))
	}
	var made dkgOutput
	dkg.wait(t, &made)
	for _, j := range joins {
		var out dkgOutput
		if j.wait(t, &out); out.KeyID != made.KeyID {
			t.Fatal("the participants disagree on the key")
		}
	}
	return made
}

// keysListJSON runs keys list --json.
func keysListJSON(t *testing.T, c *cli) []keyRow {
	t.Helper()
	var out struct{ Keys []keyRow }
	c.okJSON(&out, "keys", "list")
	return out.Keys
}

// statusJSON runs backup status --json.
func statusJSON(t *testing.T, c *cli) backupStatusOutput {
	t.Helper()
	var st backupStatusOutput
	c.okJSON(&st, "backup", "status")
	return st
}

// The backup follows the shares and the key: a push before any share, a
// 2-of-3 DKG that adds its share to the backup by itself, keys list and
// backup status saying so; a restore on a new config directory brings the
// identity and the share back and signs with them; after rotate, and after
// rotate cancel, a restore holds the key then current.
func TestBackupCLI(t *testing.T) {
	g := newTrio(t)
	s, admin, alice, bob, adminFP, aliceFP, bobFP := g.s, g.admin, g.alice, g.bob, g.adminFP, g.aliceFP, g.bobFP
	alice.ok("contacts", "add", "bob", bobFP)

	if st := statusJSON(t, alice); st.OnServer || st.ThisDevice {
		t.Fatalf("backup status before any push: %+v", st)
	}
	var pushed backupOutput
	alice.okJSON(&pushed, "backup", "push")
	if pushed.Fingerprint != aliceFP || len(pushed.Shares) != 0 {
		t.Fatalf("backup push = %+v", pushed)
	}
	statePath := filepath.Join(alice.env["CHUSME_CONFIG_DIR"], backupStateName)
	if fi, err := os.Stat(statePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v", statePath, fi, err)
	}

	// The DKG saves alice's share and updates the backup.
	keyID := dkgCLI(t, 2, admin, []*cli{alice, bob}, aliceFP, bobFP).KeyID
	st := statusJSON(t, alice)
	if !st.OnServer || !st.ThisDevice || !st.Current || len(st.Shares) != 1 || st.Shares[0] != (client.BackedUpShare{KeyID: keyID, Generation: 1}) {
		t.Fatalf("backup status after the DKG: %+v", st)
	}
	rows := keysListJSON(t, alice)
	if len(rows) != 1 || rows[0].KeyID != keyID || rows[0].Threshold != 2 || rows[0].N != 3 || rows[0].Generation != 1 || !rows[0].InBackup {
		t.Fatalf("keys list = %+v", rows)
	}
	var names []string
	for _, p := range rows[0].Participants {
		if p.Fingerprint == "" {
			t.Fatalf("participant %x unnamed: every one's chain is pinned", []byte(p.Identifier))
		}
		names = append(names, p.label(aliceFP))
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values([]string{adminFP[:12], "bob", "you"})); !slices.Equal(names, want) {
		t.Fatalf("keys list participants %v, want %v", names, want)
	}
	text := alice.ok("keys", "list")
	if !strings.Contains(text, "GENERATION") || !strings.Contains(text, keyID[:12]) || !strings.Contains(text, hex.EncodeToString(rows[0].GroupKey)) ||
		!strings.Contains(text, "2 of 3") || !strings.Contains(text, "yes") || !strings.Contains(text, "bob") {
		t.Fatalf("keys list:\n%s", text)
	}
	if ids := alice.ok("keys", "list", "--ids"); ids != keyID+"\n" {
		t.Fatalf("keys list --ids = %q", ids)
	}
	// Bob backed up nothing: his share is not in a backup.
	if rows := keysListJSON(t, bob); len(rows) != 1 || rows[0].InBackup {
		t.Fatalf("bob's keys list = %+v", rows)
	}

	// A wrong passphrase restores nothing; the right one the identity and
	// the share, which then signs.
	other := newCLI(t, s.URL, "wrong")
	otherDir := other.env["CHUSME_CONFIG_DIR"]
	if msg := other.fails(codeClient, "backup", "restore", "--fingerprint", aliceFP); !strings.Contains(msg, "wrong backup passphrase") {
		t.Fatalf("restore with a wrong passphrase: %s", msg)
	}
	if entries, _ := os.ReadDir(otherDir); len(entries) != 0 {
		t.Fatalf("a failed restore wrote %v", entries)
	}
	if msg := other.fails(codeClient, "backup", "restore", "--fingerprint", bobFP); !strings.Contains(msg, "no backup") || !strings.Contains(msg, "chusme backup push") {
		t.Fatalf("restore of an identity without a backup: %s", msg)
	}
	alice2 := newCLI(t, s.URL, "alice pw")
	var restored restoreOutput
	alice2.okJSON(&restored, "backup", "restore", "--fingerprint", aliceFP)
	if len(restored.Shares) != 1 || restored.Shares[0].KeyID != keyID || restored.Shares[0].Generation != 1 {
		t.Fatalf("backup restore = %+v", restored)
	}
	if rows := keysListJSON(t, alice2); len(rows) != 1 || rows[0].KeyID != keyID || !rows[0].InBackup {
		t.Fatalf("keys list after restore = %+v", rows)
	}
	msgFile := filepath.Join(t.TempDir(), "msg")
	msg := []byte("signed by a restored share")
	os.WriteFile(msgFile, msg, 0o600)
	sum := sha256.Sum256(msg)
	sign := admin.start("ceremony", "sign", "--key", keyID, "--message-file", msgFile, "--signers", aliceFP, "--json")
	var joined, signed signOutput
	alice2.okJSON(&joined, "ceremony", "join", sign.ceremonyID(t), "--yes", "--expect-sha256", hex.EncodeToString(sum[:]))
	sign.wait(t, &signed)
	var gk chusme.GroupKeyInfo
	admin.okJSON(&gk, "keys", "show", keyID)
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, signed.Signature) || !bytes.Equal(joined.Signature, signed.Signature) {
		t.Fatal("the signature made with the restored share does not verify under the group key")
	}

	// rotate updates the backup with the new key: a restore works (it
	// was refused as stale before); so does rotate cancel.
	for _, step := range [][]string{{"rotate"}, {"rotate", "cancel"}} {
		_, errOut, err := alice.run(step...)
		if err != nil || !strings.Contains(errOut, "The backup is up to date: the identity key and 1 shares.") {
			t.Fatalf("chusme %v: %v\n%s", step, err, errOut)
		}
		fresh := newCLI(t, s.URL, "alice pw")
		fresh.okJSON(&restored, "backup", "restore", "--fingerprint", aliceFP)
		if len(restored.Shares) != 1 {
			t.Fatalf("restore after %v: %+v", step, restored)
		}
		if currentKey(t, fresh, aliceFP) != currentKeyOf(t, fresh) {
			t.Fatalf("after %v the restored key is not the identity's current key", step)
		}
	}
}

// currentKeyOf is the public key of c's key file, as identity verify
// prints keys (base64url).
func currentKeyOf(t *testing.T, c *cli) string {
	t.Helper()
	var out struct {
		PublicKey string `json:"public_key"`
	}
	data, err := os.ReadFile(filepath.Join(c.env["CHUSME_CONFIG_DIR"], keyFileName))
	if err != nil || json.Unmarshal(data, &out) != nil {
		t.Fatalf("key file: %v", err)
	}
	return out.PublicKey
}

// A server that alters one group key's certificate: the restore brings back
// the identity and the other share, names the refused one and exits with
// shares_refused.
func TestBackupRestoreRefusesAlteredCertificate(t *testing.T) {
	g := newTrio(t)
	s, admin, alice, bob, aliceFP, bobFP := g.s, g.admin, g.alice, g.bob, g.aliceFP, g.bobFP
	alice.ok("backup", "push")
	good := dkgCLI(t, 2, admin, []*cli{alice, bob}, aliceFP, bobFP).KeyID
	bad := dkgCLI(t, 3, admin, []*cli{alice, bob}, aliceFP, bobFP).KeyID
	if st := statusJSON(t, alice); len(st.Shares) != 2 {
		t.Fatalf("backup status: %+v", st)
	}

	target, _ := url.Parse(s.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/v1/keys/"+bad || r.StatusCode != http.StatusOK {
			return nil
		}
		var k chusme.GroupKeyInfo
		if err := json.NewDecoder(r.Body).Decode(&k); err != nil {
			return err
		}
		r.Body.Close()
		k.Certificate.Confirmations[0].Signature[0] ^= 1
		b, _ := json.Marshal(k)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()

	fresh := newCLI(t, proxy.URL, "alice pw")
	fresh.env["CHUSME_ISSUER"] = s.URL
	msg := fresh.fails(codeSharesRefused, "backup", "restore", "--fingerprint", aliceFP, "--force")
	if !strings.Contains(msg, bad) || strings.Contains(msg, good) || !strings.Contains(msg, "certificate") {
		t.Fatalf("restore through the lying proxy: %s", msg)
	}
	dir := fresh.env["CHUSME_CONFIG_DIR"]
	if _, err := os.Stat(filepath.Join(dir, "shares", bad+".share")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused share was written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shares", good+".share")); err != nil {
		t.Fatalf("the good share was not restored: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, keyFileName)); err != nil {
		t.Fatalf("the identity key was not restored: %v", err)
	}
	// The backup still holds both: keys list says the restored one is in it.
	if rows := keysListJSON(t, fresh); len(rows) != 1 || rows[0].KeyID != good || !rows[0].InBackup {
		t.Fatalf("keys list after a partial restore: %+v", rows)
	}
}
