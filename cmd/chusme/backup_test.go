package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/sharefile"
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

// openBlob fetches fp's backup from the server and opens it with
// passphrase pass: OpenBackup's error if it does not open.
func openBlob(t *testing.T, s *servertest.Server, fp, pass string) (*client.Backup, error) {
	t.Helper()
	c, err := client.New(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	blob, _, err := c.Blob(t.Context(), fp)
	if err != nil {
		t.Fatal(err)
	}
	b, k, err := client.OpenBackup(fp, blob, []byte(pass))
	if err != nil {
		return nil, err
	}
	k.Wipe()
	t.Cleanup(b.Zero)
	return b, nil
}

// blobOf opens fp's backup on the server with passphrase pass.
func blobOf(t *testing.T, s *servertest.Server, fp, pass string) *client.Backup {
	t.Helper()
	b, err := openBlob(t, s, fp, pass)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// holds reports whether backup b holds a share of key keyID.
func holds(b *client.Backup, keyID string) bool {
	return slices.ContainsFunc(b.Shares, func(s *sharefile.Share) bool { return s.KeyID == keyID })
}

// A share that goes away leaves the backup. Alice deals in a reshare of a
// 2-of-3 key to the admin and bob and leaves: her share file goes, her
// backup drops the key from generation 2, a second device of hers that
// still holds generation 1 pushes without bringing it back, and a restore
// on a new config directory brings back neither it nor a word about it. A
// refresh of another key removes her: keys list marks her share removed, a
// restore refuses it from the backup (saying why) and drops it, keys
// remove deletes it once confirmed (and refuses bob's, still a holder),
// and the backup drops it.
func TestBackupDropsLeftShares(t *testing.T) {
	g := newTrio(t)
	s, admin, alice, bob, adminFP, aliceFP, bobFP := g.s, g.admin, g.alice, g.bob, g.adminFP, g.aliceFP, g.bobFP
	alice.ok("backup", "push")
	left := dkgCLI(t, 2, admin, []*cli{alice, bob}, aliceFP, bobFP).KeyID
	removed := dkgCLI(t, 2, admin, []*cli{alice, bob}, aliceFP, bobFP).KeyID
	laptop := newCLI(t, s.URL, "alice pw") // alice's second device, restored now
	laptop.ok("backup", "restore", "--fingerprint", aliceFP)

	reshare := admin.start("ceremony", "reshare", left, "--threshold", "2", "--participants", adminFP+","+bobFP, "--json")
	id := reshare.ceremonyID(t)
	joinA, joinB := alice.start("ceremony", "join", id, "--json"), bob.start("ceremony", "join", id, "--json")
	var out dkgOutput
	reshare.wait(t, &out)
	joinB.wait(t, &out)
	joinA.wait(t, &out)
	if out.ShareFile != "" {
		t.Fatalf("alice left with a share file: %+v", out)
	}
	dropped := []client.DroppedShare{{KeyID: left, Generation: 2}}
	if b := blobOf(t, s, aliceFP, "alice pw"); holds(b, left) || !holds(b, removed) || !slices.Equal(b.Dropped, dropped) {
		t.Fatalf("alice's backup after the reshare: shares %d, dropped %v", len(b.Shares), b.Dropped)
	}
	if st := statusJSON(t, alice); !slices.Equal(st.Dropped, dropped) || slices.ContainsFunc(st.Shares, func(s client.BackedUpShare) bool { return s.KeyID == left }) {
		t.Fatalf("backup status after the reshare: %+v", st)
	}
	if text := alice.ok("backup", "status"); !slices.ContainsFunc(strings.Split(text, "\n"), func(l string) bool {
		return strings.Join(strings.Fields(l), " ") == "dropped "+left+" no longer held from generation 2"
	}) {
		t.Fatalf("backup status:\n%s", text)
	}
	// The laptop still holds generation 1: keys list says it is no longer
	// alice's, and its push merges the drop instead of bringing it back.
	if rows := keysListJSON(t, laptop); len(rows) != 2 || rows[0].KeyID != min(left, removed) ||
		rows[slices.IndexFunc(rows, func(r keyRow) bool { return r.KeyID == left })].State != keyRemoved {
		t.Fatalf("the laptop's keys list: %+v", rows)
	}
	laptop.ok("backup", "push")
	if b := blobOf(t, s, aliceFP, "alice pw"); holds(b, left) || !slices.Equal(b.Dropped, dropped) {
		t.Fatalf("the laptop's push brought back the share: dropped %v", b.Dropped)
	}
	fresh := newCLI(t, s.URL, "alice pw")
	var restored restoreOutput
	_, errOut, err := fresh.run("backup", "restore", "--fingerprint", aliceFP, "--json")
	if err != nil || errOut != "" {
		t.Fatalf("restore after the reshare: %v\n%s", err, errOut)
	}
	fresh.okJSON(&restored, "backup", "restore", "--fingerprint", aliceFP, "--force")
	if len(restored.Shares) != 1 || restored.Shares[0].KeyID != removed {
		t.Fatalf("restore after the reshare: %+v", restored)
	}

	// A refresh removes alice from the other key.
	refresh := admin.start("ceremony", "refresh", removed, "--remove", aliceFP, "--json")
	bob.ok("ceremony", "join", refresh.ceremonyID(t), "--json")
	refresh.wait(t, &out)
	rows := keysListJSON(t, alice)
	if len(rows) != 1 || rows[0].KeyID != removed || rows[0].State != keyRemoved || rows[0].KeyGeneration != 2 || rows[0].Generation != 1 {
		t.Fatalf("alice's keys list after the refresh: %+v", rows)
	}
	if _, errOut, _ := alice.run("keys", "list"); !strings.Contains(errOut, "chusme keys remove "+removed[:12]) {
		t.Fatalf("keys list says nothing of the removed share: %q", errOut)
	}
	if rows := keysListJSON(t, bob); len(rows) != 2 || rows[0].State != keyCurrent || rows[1].State != keyCurrent {
		t.Fatalf("bob's keys list: %+v", rows)
	}
	// Alice's backup still holds that share: a restore refuses it, saying
	// why, and its device drops it from the backup.
	other := newCLI(t, s.URL, "alice pw")
	if msg := other.fails(codeSharesRefused, "backup", "restore", "--fingerprint", aliceFP, "--force"); !strings.Contains(msg, removed) ||
		!strings.Contains(msg, "does not name "+aliceFP+" as a holder") || !strings.Contains(msg, "drops it from the backup") {
		t.Fatalf("restoring a share of a key that no longer names alice: %s", msg)
	}
	if st := statusJSON(t, other); !slices.Contains(st.Dropped, client.DroppedShare{KeyID: removed, Generation: 2}) {
		t.Fatalf("the restoring device's backup status: %+v", st)
	}
	bob.fails(codeStillHolder, "keys", "remove", removed[:8], "--yes")
	alice.fails(codeNotApproved, "keys", "remove", removed[:8])
	if _, err := os.Stat(sharePathOf(alice, removed)); err != nil {
		t.Fatalf("an unconfirmed keys remove removed the share: %v", err)
	}
	var rm removedKey
	alice.okJSON(&rm, "keys", "remove", removed[:8], "--yes")
	if _, err := os.Stat(sharePathOf(alice, removed)); !errors.Is(err, os.ErrNotExist) || rm.KeyID != removed || rm.Generation != 1 {
		t.Fatalf("keys remove: %+v, the share file: %v", rm, err)
	}
	dropped = append(dropped, client.DroppedShare{KeyID: removed, Generation: 2})
	slices.SortFunc(dropped, func(a, b client.DroppedShare) int { return strings.Compare(a.KeyID, b.KeyID) })
	if b := blobOf(t, s, aliceFP, "alice pw"); len(b.Shares) != 0 || !slices.Equal(b.Dropped, dropped) {
		t.Fatalf("alice's backup after keys remove: shares %d, dropped %v", len(b.Shares), b.Dropped)
	}
}

// copyKeyFile gives to a copy of from's identity key file, and nothing
// else of from's config directory (not its backup's key).
func copyKeyFile(t *testing.T, from, to *cli) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(from.env["CHUSME_CONFIG_DIR"], keyFileName))
	if err == nil {
		err = os.WriteFile(filepath.Join(to.env["CHUSME_CONFIG_DIR"], keyFileName), data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A thief who copied alice's key file rotates it; alice, on a new config
// directory, restores the backup, which holds the replaced key: the restore
// names the rotation it can cancel, rotate cancel works from there and
// brings the backup up to date, and the thief's session is gone. Once a
// recovery key has replaced the key, a restore of it is refused, naming the
// recovery, its time and its window's end, and pointing at recover.
func TestBackupRestoreCancelsThiefRotation(t *testing.T) {
	g := newTrio(t)
	alice, aliceFP := g.alice, g.aliceFP
	var added struct {
		RecoveryKey string `json:"recovery_key"`
	}
	alice.okJSON(&added, "recovery", "add")
	alice.ok("backup", "push")
	stolen := currentKeyOf(t, alice)

	thief := newCLI(t, g.s.URL, "alice pw")
	copyKeyFile(t, alice, thief)
	var rotation chusme.ChainEntry
	thief.okJSON(&rotation, "rotate")
	thief.ok("whoami")
	if currentKey(t, thief, aliceFP) == stolen {
		t.Fatal("the thief's rotation did not change the key")
	}

	owner := newCLI(t, g.s.URL, "alice pw")
	var restored restoreOutput
	owner.okJSON(&restored, "backup", "restore", "--fingerprint", aliceFP)
	until, err := time.Parse(time.RFC3339, restored.CancelUntil)
	if err != nil || restored.PendingRotation != rotation.Seq || !until.Equal(rotation.AcceptedAt.Add(chusme.RotationCancelWindow).Truncate(time.Second)) ||
		currentKeyOf(t, owner) != stolen {
		t.Fatalf("restore during the thief's rotation = %+v (%v), rotation %d accepted %s", restored, err, rotation.Seq, rotation.AcceptedAt)
	}
	_, errOut, err := owner.run("rotate", "cancel")
	if err != nil || !strings.Contains(errOut, "The backup is up to date") {
		t.Fatalf("rotate cancel from the restored key: %v\n%s", err, errOut)
	}
	if currentKey(t, owner, aliceFP) != stolen {
		t.Fatal("the cancellation did not restore the owner's key")
	}
	owner.ok("whoami")
	thief.fails(chusme.CodeSessionRevoked, "whoami") // the thief's session is gone
	thief.fails(chusme.CodeKeyRotated, "login")      // and its key can't log in

	// A recovery replaces the key for good: its backup is refused.
	dir := t.TempDir()
	keyText := filepath.Join(dir, "recovery.txt")
	if err := os.WriteFile(keyText, []byte(added.RecoveryKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var recovered chusme.ChainEntry
	newCLI(t, g.s.URL, "new pw").okJSON(&recovered, "recover", "--fingerprint", aliceFP, "--recovery-key-file", keyText)
	late := newCLI(t, g.s.URL, "alice pw")
	msg := late.fails(codeStaleBackup, "backup", "restore", "--fingerprint", aliceFP)
	for _, want := range []string{
		fmt.Sprintf("chain entry %d (recover, accepted %s", recovered.Seq, recovered.AcceptedAt.UTC().Format(time.RFC3339)),
		"cancel window until " + recovered.AcceptedAt.Add(chusme.RotationCancelWindow).UTC().Format(time.RFC3339),
		"chusme recover",
	} {
		if !strings.Contains(msg, want) {
			t.Fatalf("restore of a key a recovery replaced: %q lacks %q", msg, want)
		}
	}
	if _, err := os.Stat(filepath.Join(late.env["CHUSME_CONFIG_DIR"], keyFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused restore wrote the key file: %v", err)
	}
}
