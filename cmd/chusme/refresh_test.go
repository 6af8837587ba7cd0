package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/sharefile"
)

// A 2-of-3 key is refreshed without one holder: the other two end with a
// new share, of generation 2, in the same share file, the old one gone; the
// removed holder is no participant; the new shares sign under the same key.
func TestCeremonyRefreshCLI(t *testing.T) {
	g := newTrio(t)
	admin, alice, bob, aliceFP, bobFP := g.admin, g.alice, g.bob, g.aliceFP, g.bobFP
	made := dkgCLI(t, 2, admin, []*cli{alice, bob}, aliceFP, bobFP)
	keyID := made.KeyID
	oldAdmin := loadShareOf(t, admin, keyID)
	alicePath := sharePathOf(alice, keyID)
	aliceOld, err := os.ReadFile(alicePath)
	if err != nil {
		t.Fatal(err)
	}

	admin.fails("usage", "ceremony", "refresh", keyID[:8], "--remove", aliceFP+","+bobFP) // one holder left of a 2-of-3 key
	refresh := admin.start("ceremony", "refresh", keyID[:8], "--remove", bobFP, "--json")
	id := refresh.ceremonyID(t)
	var info chusme.CeremonyInfo
	bob.fails("not_found", "ceremony", "status", id)
	alice.okJSON(&info, "ceremony", "status", id)
	if info.Kind != chusme.KindRefresh || info.KeyGeneration != 1 || len(info.Participants) != 2 {
		t.Fatalf("the refresh as alice sees it: %+v", info)
	}
	var joined, started dkgOutput
	alice.okJSON(&joined, "ceremony", "join", "--json")
	refresh.wait(t, &started)
	for _, o := range []dkgOutput{joined, started} {
		if o.Kind != chusme.KindRefresh || o.KeyID != keyID || o.Generation != 2 || len(o.Participants) != 2 || o.Threshold != 2 ||
			!bytes.Equal(o.PublicKey, made.PublicKey) {
			t.Fatalf("the refresh printed %+v", o)
		}
	}
	newAdmin := loadShareOf(t, admin, keyID)
	if newAdmin.Generation != 2 || newAdmin.CeremonyID != id || newAdmin.PublicKeyPackage.MaxSigners() != 2 ||
		bytes.Equal(newAdmin.KeyPackage.SigningShare().Bytes(), oldAdmin.KeyPackage.SigningShare().Bytes()) {
		t.Fatalf("the admin's share after the refresh: generation %d, ceremony %s", newAdmin.Generation, newAdmin.CeremonyID)
	}
	if entries, _ := os.ReadDir(filepath.Join(admin.env["CHUSME_CONFIG_DIR"], "ceremonies")); len(entries) != 0 {
		t.Fatalf("round state left behind: %v", entries)
	}
	// The certificate of generation 2 names its holders and the holders
	// of generation 1 that endorsed it.
	out := bob.ok("keys", "verify-cert", keyID)
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "participant" || f[0] == "endorser") {
			rows[f[0]] = append(rows[f[0]], f[1])
		}
	}
	if !strings.Contains(out, "generation 2, made by a refresh") || len(rows["endorser"]) != 2 || !slices.Contains(rows["endorser"], aliceFP) ||
		slices.Contains(rows["participant"], bobFP) || len(rows["participant"]) != 2 {
		t.Fatalf("keys verify-cert after the refresh:\n%s", out)
	}

	// A share of the replaced generation is refused before anything is sent.
	msgFile, sum := messageFile(t, []byte("signed by an old share"))
	aliceNew, err := os.ReadFile(alicePath)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(alicePath, aliceOld, 0o600)
	stale := admin.start("ceremony", "sign", "--key", keyID, "--message-file", msgFile, "--json")
	staleID := stale.ceremonyID(t)
	if msg := alice.fails(codeShareGeneration, "ceremony", "join", staleID, "--yes", "--expect-sha256", hex.EncodeToString(sum[:])); !strings.Contains(msg, "generation 1") {
		t.Fatalf("joining with a share of generation 1: %s", msg)
	}
	alice.ok("ceremony", "decline", staleID)
	stale.wait(t, nil)
	os.WriteFile(alicePath, aliceNew, 0o600)

	signedBy(t, admin, alice, keyID, made.PublicKey, []byte("signed by the refreshed shares"))
}

// messageFile writes msg to a file and returns its path and SHA-256.
func messageFile(t *testing.T, msg []byte) (string, [sha256.Size]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sha256.Sum256(msg)
}

// signedBy has starter sign msg with key keyID (its signing ceremony's
// further flags extra) and joiner approve it, and checks the signature
// under publicKey with crypto/ed25519.
func signedBy(t *testing.T, starter, joiner *cli, keyID string, publicKey, msg []byte, extra ...string) {
	t.Helper()
	msgFile, sum := messageFile(t, msg)
	sign := starter.start(append([]string{"ceremony", "sign", "--key", keyID, "--message-file", msgFile, "--json"}, extra...)...)
	sign.ceremonyID(t)
	joiner.ok("ceremony", "join", "--yes", "--expect-sha256", hex.EncodeToString(sum[:]))
	var signed signOutput
	sign.wait(t, &signed)
	if !ed25519.Verify(ed25519.PublicKey(publicKey), msg, signed.Signature) {
		t.Fatalf("the signature of %q does not verify under the group key", msg)
	}
}

// A 2-of-2 key of the admin and alice is reshared to alice and bob: the
// admin deals and leaves (its share file is removed), alice deals and
// holds a new share, bob joins with none; alice and bob then sign under the
// same key.
func TestCeremonyReshareCLI(t *testing.T) {
	g := newTrio(t)
	admin, alice, bob, aliceFP, bobFP := g.admin, g.alice, g.bob, g.aliceFP, g.bobFP
	made := dkgCLI(t, 2, admin, []*cli{alice}, aliceFP)
	keyID := made.KeyID

	reshare := admin.start("ceremony", "reshare", keyID[:8], "--threshold", "2", "--participants", aliceFP+","+bobFP, "--json")
	reshare.ceremonyID(t)
	joinA, joinB := alice.start("ceremony", "join", "--json"), bob.start("ceremony", "join", "--json")
	var left, aliceOut, bobOut dkgOutput
	reshare.wait(t, &left)
	joinA.wait(t, &aliceOut)
	joinB.wait(t, &bobOut)
	if left.Kind != chusme.KindReshare || left.ShareFile != "" || left.Generation != 2 {
		t.Fatalf("the leaving dealer printed %+v", left)
	}
	if _, err := os.Stat(sharePathOf(admin, keyID)); !os.IsNotExist(err) {
		t.Fatalf("the leaving dealer's share file: %v", err)
	}
	for _, o := range []dkgOutput{aliceOut, bobOut} {
		if o.KeyID != keyID || o.Generation != 2 || o.ShareFile == "" || len(o.Participants) != 2 || !bytes.Equal(o.PublicKey, made.PublicKey) {
			t.Fatalf("a new holder printed %+v", o)
		}
	}
	signedBy(t, bob, alice, keyID, made.PublicKey, []byte("signed by the reshared group"))
}

// Alice loses her share of a 2-of-3 key (a new laptop, her identity
// restored): the admin and bob repair it, her chusme ceremony join saves
// it, and she signs with it.
func TestCeremonyRepairCLI(t *testing.T) {
	g := newTrio(t)
	admin, alice, bob, aliceFP, bobFP := g.admin, g.alice, g.bob, g.aliceFP, g.bobFP
	made := dkgCLI(t, 2, admin, []*cli{alice, bob}, aliceFP, bobFP)
	alicePath := sharePathOf(alice, made.KeyID)
	before := loadShareOf(t, alice, made.KeyID)
	if err := os.Remove(alicePath); err != nil {
		t.Fatal(err)
	}

	repair := admin.start("ceremony", "repair", made.KeyID[:8], "--for", aliceFP, "--json")
	repair.ceremonyID(t)
	joinB, joinA := bob.start("ceremony", "join", "--json"), alice.start("ceremony", "join", "--json")
	var helped, got dkgOutput
	repair.wait(t, &helped)
	joinB.wait(t, &dkgOutput{})
	joinA.wait(t, &got)
	if helped.Kind != chusme.KindRepair || helped.ShareFile != "" || got.ShareFile != alicePath || got.Generation != 1 || got.Threshold != 2 || len(got.Participants) != 3 {
		t.Fatalf("the repair printed %+v (helper) and %+v (alice)", helped, got)
	}
	after := loadShareOf(t, alice, made.KeyID)
	if !bytes.Equal(after.KeyPackage.SigningShare().Bytes(), before.KeyPackage.SigningShare().Bytes()) {
		t.Fatal("the repaired share is not the lost one")
	}
	signedBy(t, alice, bob, made.KeyID, made.PublicKey, []byte("signed with a repaired share"), "--signers", aliceFP+","+bobFP)
}

// sharePathOf is where c keeps its share of key keyID.
func sharePathOf(c *cli, keyID string) string {
	return sharefile.Path(c.env["CHUSME_CONFIG_DIR"], keyID)
}

// loadShareOf opens c's share of key keyID.
func loadShareOf(t *testing.T, c *cli, keyID string) *sharefile.Share {
	t.Helper()
	sh, err := sharefile.Load(sharePathOf(c, keyID), []byte(c.env["CHUSME_PASSPHRASE"]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sh.Zero)
	return sh
}

// An administrator that holds no share of a key may start its refresh:
// chusme ceremony refresh then prints the ceremony instead of taking
// part, and the holders' joins complete it.
func TestCeremonyRefreshByAdministrator(t *testing.T) {
	g := newTrio(t)
	admin, alice, bob := g.admin, g.alice, g.bob
	made := dkgCLI(t, 2, alice, []*cli{bob}, g.bobFP)

	var started chusme.CeremonyInfo
	admin.okJSON(&started, "ceremony", "refresh", made.KeyID, "--json")
	if started.Kind != chusme.KindRefresh || started.Status != chusme.CeremonyOpen || len(started.Participants) != 2 {
		t.Fatalf("the administrator's refresh: %+v", started)
	}
	joinA, joinB := alice.start("ceremony", "join", started.ID, "--json"), bob.start("ceremony", "join", started.ID, "--json")
	var outA, outB dkgOutput
	joinA.wait(t, &outA)
	joinB.wait(t, &outB)
	if outA.Generation != 2 || outB.Generation != 2 || outA.KeyID != made.KeyID {
		t.Fatalf("the holders' refresh: %+v, %+v", outA, outB)
	}
}
