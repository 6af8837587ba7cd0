package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/keys"
)

// requestText finds the request recovery add or recover --guardians prints.
var requestText = regexp.MustCompile(`recovery sign-for (\S+) --key`)

// guardianTrio is a server with an administrator and two members, alice
// and bob, and the 2-of-2 group key of alice and bob that an owner
// registers as a guardian recovery key (any two of the three sign).
type guardianTrio struct {
	s                       *servertest.Server
	admin, alice, bob       *cli
	adminFP, aliceFP, bobFP string
	keyID                   string
}

// newGuardianTrio starts the server and makes the guardians' key by a DKG.
func newGuardianTrio(t *testing.T) guardianTrio {
	t.Helper()
	var g guardianTrio
	g.s, g.admin = startWithAdmin(t)
	var me chusme.Me
	g.admin.okJSON(&me, "whoami")
	g.adminFP = me.Fingerprint
	g.alice, g.aliceFP = newMember(t, g.s, g.admin, "alice pw")
	g.bob, g.bobFP = newMember(t, g.s, g.admin, "bob pw")
	dkg := g.admin.start("ceremony", "dkg", "--threshold", "2", "--participants", g.aliceFP+","+g.bobFP, "--json")
	dkg.ceremonyID(t)
	joinA, joinB := g.alice.start("ceremony", "join", "--json"), g.bob.start("ceremony", "join", "--json")
	var out dkgOutput
	dkg.wait(t, &out)
	joinA.wait(t, &dkgOutput{})
	joinB.wait(t, &dkgOutput{})
	g.keyID = out.KeyID
	return g
}

// sign has creator sign-for request text with other, who approves at the
// prompt (answer "y") or declines; it returns the signature ("" if
// declined) and the approver's stderr.
func (g guardianTrio) sign(t *testing.T, creator *cli, creatorFP string, other *cli, otherFP, text string, approve bool) (string, string) {
	t.Helper()
	sign := creator.start("recovery", "sign-for", text, "--key", g.keyID, "--signers", creatorFP+","+otherFP, "--json")
	id := sign.ceremonyID(t)
	join := other.startWith(strings.NewReader(map[bool]string{true: "y\n", false: "n\n"}[approve]), nil, "ceremony", "join", id, "--json")
	if !approve {
		join.wait(t, nil)
		sign.wait(t, nil)
		return "", join.stderr.String()
	}
	var o signOutput
	join.wait(t, &signOutput{})
	sign.wait(t, &o)
	return hex.EncodeToString(o.Signature), join.stderr.String()
}

// register has owner register the guardians' key by recovery add
// --guardians, the administrator and alice signing; it returns alice's
// prompt.
func (g guardianTrio) register(t *testing.T, owner *cli) string {
	t.Helper()
	pr, pw := io.Pipe()
	add := owner.startWith(pr, requestText, "recovery", "add", "--guardians", g.keyID, "--json")
	sig, prompt := g.sign(t, g.admin, g.adminFP, g.alice, g.aliceFP, add.ceremonyID(t), true)
	fmt.Fprintln(pw, sig)
	var added struct {
		Priority int    `json:"priority"`
		KeyID    string `json:"key_id"`
	}
	add.wait(t, &added)
	if added.Priority != 1 || added.KeyID != g.keyID {
		t.Fatalf("recovery add --guardians = %+v", added)
	}
	return prompt
}

// Guardian recovery through the CLI (issue 17 item 3): three guardians
// make a 2-of-3 key; the owner registers it by recovery add --guardians,
// a guardian's recovery sign-for and another's approval (its prompt reads
// the statement); the owner loses its device; a guardian declines, the
// third absent: no signature, the chain unchanged; two others sign the
// recovery and the new device logs in; the chain verifies offline.
func TestGuardianRecoveryCLI(t *testing.T) {
	g := newGuardianTrio(t)
	s, admin, alice, bob := g.s, g.admin, g.alice, g.bob
	adminFP, aliceFP, bobFP, keyID := g.adminFP, g.aliceFP, g.bobFP, g.keyID
	var me chusme.Me
	owner, ownerFP := newMember(t, s, admin, "owner pw")

	alice.ok("contacts", "add", "carol", ownerFP) // the prompt names her
	// The owner registers the guardians' key.
	if prompt := g.register(t, owner); !strings.Contains(prompt, "register recovery keys") || !strings.Contains(prompt, ownerFP+" (carol)") {
		t.Fatalf("the guardian's prompt does not say what it signs:\n%s", prompt)
	}

	// The owner's device is lost; a new machine asks the guardians.
	machine := newCLI(t, s.URL, "new pw")
	keyPath := filepath.Join(machine.env["CHUSME_CONFIG_DIR"], "identity.key")
	machine.fails(chusme.CodeNotRecoveryKey, "recover", "--fingerprint", ownerFP, "--guardians", strings.Repeat("0", 12))
	if _, _, err := machine.run("recover", "--fingerprint", ownerFP, "--guardians", keyID); chusme.ErrorCode(err) != codeNotApproved { // no signature pasted
		t.Fatalf("recover without a signature: %v, want %s", err, codeNotApproved)
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Fatal("a recovery without a signature left a key file")
	}
	pr, pw := io.Pipe()
	rec := machine.startWith(pr, requestText, "recover", "--fingerprint", ownerFP, "--guardians", keyID[:12], "--json")
	text := rec.ceremonyID(t)
	statement, _ := base64.RawURLEncoding.DecodeString(text)
	_, prompt := g.sign(t, admin, adminFP, alice, aliceFP, text, false)
	if !strings.Contains(prompt, "rotate identity "+ownerFP+" (carol) to device key") || !strings.Contains(prompt, fmt.Sprintf("%x", sha256.Sum256(statement))) {
		t.Fatalf("the guardian's prompt does not say what it signs:\n%s", prompt)
	}
	var verified struct {
		Entries uint64 `json:"entries"`
	}
	bob.okJSON(&verified, "identity", "verify", ownerFP)
	before := verified.Entries

	sig, _ := g.sign(t, admin, adminFP, bob, bobFP, text, true)
	fmt.Fprintln(pw, sig)
	var entry chusme.ChainEntry
	rec.wait(t, &entry)
	machine.okJSON(&me, "whoami")
	if entry.Kind != chusme.EntryRecover || me.Fingerprint != ownerFP {
		t.Fatalf("recover --guardians = %+v, whoami %+v", entry, me)
	}
	owner.fails(chusme.CodeSessionRevoked, "whoami")
	bob.okJSON(&verified, "identity", "verify", ownerFP)
	if before != entry.Seq || verified.Entries != entry.Seq+1 {
		t.Fatalf("%d chain entries before the recovery, %d after; the recovery is entry %d", before, verified.Entries, entry.Seq)
	}
	// A used request, or one that is no recovery statement, is refused.
	admin.fails(chusme.CodeConflict, "recovery", "sign-for", text, "--key", keyID)
	admin.fails(chusme.CodeInvalidRequest, "recovery", "sign-for", base64.RawURLEncoding.EncodeToString([]byte("pay bob")), "--key", keyID)
	c, err := client.New(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Chain(t.Context(), ownerFP)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := chusme.VerifyChain(ch.Issuer, ownerFP, ch.Entries, keys.CheckPublicKey, keys.Verify); err != nil || !bytes.Equal(cur, entry.NewKey) {
		t.Fatalf("VerifyChain = %x, %v; want %x", cur, err, []byte(entry.NewKey))
	}
}

// The guardians remove a device: the owner's devices remove --guardians
// prints the device_remove statement for recovery sign-for, whose prompt
// says what it does; the removed device's session ends.
func TestGuardiansRemoveDeviceCLI(t *testing.T) {
	g := newGuardianTrio(t)
	owner, ownerFP := newMember(t, g.s, g.admin, "owner pw")
	g.register(t, owner)
	owner.ok("login")
	laptop := newCLI(t, g.s.URL, "laptop pw")
	var join struct {
		Key     chusme.Bytes `json:"key"`
		Request string       `json:"request"`
	}
	laptop.okJSON(&join, "devices", "join", "--fingerprint", ownerFP)
	owner.ok("devices", "add", join.Request)
	laptop.ok("login")

	laptopKey := base64.RawURLEncoding.EncodeToString(join.Key)
	pr, pw := io.Pipe()
	rm := owner.startWith(pr, requestText, "devices", "remove", laptopKey, "--guardians", g.keyID, "--json")
	sig, prompt := g.sign(t, g.admin, g.adminFP, g.bob, g.bobFP, rm.ceremonyID(t), true)
	if !strings.Contains(prompt, "remove device key "+laptopKey+" of identity "+ownerFP) {
		t.Fatalf("the guardian's prompt does not say what it signs:\n%s", prompt)
	}
	fmt.Fprintln(pw, sig)
	var entry chusme.ChainEntry
	rm.wait(t, &entry)
	if entry.Kind != chusme.EntryDeviceRemove || base64.RawURLEncoding.EncodeToString(entry.OldKey) != laptopKey {
		t.Fatalf("devices remove --guardians = %+v", entry)
	}
	laptop.fails(chusme.CodeSessionRevoked, "whoami")
	owner.ok("whoami")
}
