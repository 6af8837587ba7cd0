package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// Contacts through the real CLI and server: add, list, show with the
// safety number both sides compute alike, names and prefixes wherever a
// fingerprint is taken (a DKG's participants, identity verify, admin ban),
// names shown beside fingerprints, and the refusals.
func TestContactsCLI(t *testing.T) {
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	adminFP := strings.TrimSpace(admin.ok("keygen"))
	admin.ok("setup", "--token", s.SetupToken(t))
	alice, aliceFP := newMember(t, s, admin, "alice pw")
	bob, bobFP := newMember(t, s, admin, "bob pw")

	var added client.Contact
	admin.okJSON(&added, "contacts", "add", "Alice", aliceFP)
	if added.Name != "alice" || added.Fingerprint != aliceFP {
		t.Fatalf("contacts add = %+v", added)
	}
	if out := admin.ok("contacts", "add", "bob", bobFP); !strings.Contains(out, "bob") || !strings.Contains(out, bobFP) {
		t.Fatalf("contacts add printed %q", out)
	}
	path := filepath.Join(admin.env["CHUSME_CONFIG_DIR"], client.ContactsFileName)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("contacts file: %v, %v", fi, err)
	}
	var list struct{ Contacts []client.Contact }
	admin.okJSON(&list, "contacts", "list")
	if len(list.Contacts) != 2 || list.Contacts[0].Name != "alice" || list.Contacts[1].Fingerprint != bobFP {
		t.Fatalf("contacts list = %+v", list)
	}
	if out := admin.ok("contacts", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, bobFP) {
		t.Fatalf("contacts list printed\n%s", out)
	}

	// The safety number: the admin's of alice is alice's of the admin.
	want, err := chusme.SafetyNumber(adminFP, aliceFP)
	if err != nil {
		t.Fatal(err)
	}
	var shown contactShown
	admin.okJSON(&shown, "contacts", "show", "alice")
	if shown.Name != "alice" || shown.Fingerprint != aliceFP || shown.YourFingerprint != adminFP || shown.SafetyNumber != want {
		t.Fatalf("contacts show = %+v, want safety number %s", shown, want)
	}
	alice.ok("contacts", "add", "boss", adminFP)
	alice.okJSON(&shown, "contacts", "show", "boss")
	if shown.SafetyNumber != want {
		t.Fatalf("alice's safety number %q, the admin's %q", shown.SafetyNumber, want)
	}
	out := admin.ok("contacts", "show", aliceFP[:10])
	if !strings.Contains(out, strings.Join(strings.Fields(want)[:4], " ")) || !strings.Contains(out, "alice") {
		t.Fatalf("contacts show printed\n%s", out)
	}

	// Refusals, with nothing changed.
	before, _ := os.ReadFile(path)
	for _, name := range []string{"1alice", "al ice", "deadbeef", strings.Repeat("a", 33), "-x"} {
		admin.fails(codeUsage, "contacts", "add", name, strings.Repeat("c", 64))
	}
	admin.fails(codeUsage, "contacts", "add", "carol", "abc")
	if msg := admin.fails(codeContactExists, "contacts", "add", "ALICE", strings.Repeat("c", 64)); !strings.Contains(msg, aliceFP[:8]) {
		t.Fatalf("a duplicate name: %q", msg)
	}
	admin.fails(codeContactExists, "contacts", "add", "alice2", aliceFP)
	admin.fails(codeUsage, "contacts", "add", "carol")
	admin.fails(codeUsage, "contacts", "frobnicate")
	admin.fails(codeUnknownContact, "contacts", "show", "carol")
	admin.fails(codeUnknownContact, "contacts", "remove", "carol")
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a refused contacts command changed the file")
	}

	// Names and prefixes where fingerprints are taken.
	var verified struct{ Fingerprint string }
	admin.okJSON(&verified, "identity", "verify", "alice")
	if verified.Fingerprint != aliceFP {
		t.Fatalf("identity verify alice = %+v", verified)
	}
	admin.okJSON(&verified, "identity", "verify", strings.ToUpper(bobFP[:9]))
	if verified.Fingerprint != bobFP {
		t.Fatalf("identity verify of a prefix = %+v", verified)
	}

	// A DKG with the participants named; the progress and the status
	// name them too.
	dkg := admin.start("ceremony", "dkg", "--threshold", "2", "--participants", "alice,bob", "--json")
	id := dkg.ceremonyID(t)
	status := admin.ok("ceremony", "status", id)
	if !strings.Contains(status, aliceFP+" (alice)") || !strings.Contains(status, bobFP+" (bob)") {
		t.Fatalf("ceremony status does not name the contacts:\n%s", status)
	}
	admin.ok("ceremony", "cancel", id)
	dkg.wait(t, nil)
	var info chusme.CeremonyInfo
	admin.okJSON(&info, "ceremony", "status", id)
	if len(info.Participants) != 3 || !slices.Contains(info.Participants, aliceFP) || !slices.Contains(info.Participants, bobFP) {
		t.Fatalf("the DKG's participants = %v", info.Participants)
	}
	if !strings.Contains(dkg.stderr.String(), aliceFP[:12]+" (alice)") {
		t.Fatalf("the progress does not name alice:\n%s", dkg.stderr)
	}

	// An ambiguous prefix is refused, naming both candidates; so is an
	// unknown name, and a name listed twice.
	book := client.NewContactBook(path)
	for name, fp := range map[string]string{"x1": "deadbeef1" + strings.Repeat("1", 55), "x2": "deadbeef2" + strings.Repeat("2", 55)} {
		if _, err := book.Add(name, fp); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"ceremony", "dkg", "--threshold", "2", "--participants", "alice,deadbeef"},
		{"admin", "ban", "DEADBEEF"},
		{"ceremony", "sign", "--key", strings.Repeat("f", 64), "--message-file", "m", "--signers", "deadbeef"},
		{"identity", "verify", "deadbeef"},
	} {
		if msg := admin.fails(codeAmbiguousContact, args...); !strings.Contains(msg, "x1 (deadbeef1") || !strings.Contains(msg, "x2 (deadbeef2") {
			t.Fatalf("chusme %v: %q does not name both candidates", args, msg)
		}
	}
	admin.fails(codeUnknownContact, "ceremony", "dkg", "--threshold", "2", "--participants", "alice,carol")
	admin.fails(codeUsage, "ceremony", "dkg", "--threshold", "2", "--participants", "alice,"+aliceFP)

	// Blocking bob, by his contact name, on the server: his ceremonies
	// naming the admin are refused until the admin unblocks him.
	var blocked chusme.BlockList
	admin.okJSON(&blocked, "contacts", "block", "bob")
	if !slices.Equal(blocked.Blocked, []string{bobFP}) {
		t.Fatalf("contacts block bob = %+v", blocked)
	}
	if out := admin.ok("contacts", "blocked"); !strings.Contains(out, "bob") {
		t.Fatalf("contacts blocked printed %q", out)
	}
	bob.fails(chusme.CodeParticipantBlocked, "ceremony", "dkg", "--threshold", "2", "--participants", adminFP)
	admin.okJSON(&blocked, "contacts", "unblock", "bob")
	if len(blocked.Blocked) != 0 {
		t.Fatalf("contacts unblock bob = %+v", blocked)
	}

	var removed struct{ Removed client.Contact }
	admin.okJSON(&removed, "contacts", "remove", "bob")
	if removed.Removed.Fingerprint != bobFP {
		t.Fatalf("contacts remove = %+v", removed)
	}
	admin.fails(codeUnknownContact, "admin", "ban", "bob")
	var banned chusme.IdentityInfo
	admin.okJSON(&banned, "admin", "ban", "alice")
	if banned.Fingerprint != aliceFP || banned.Status != chusme.StatusBanned {
		t.Fatalf("admin ban alice = %+v", banned)
	}
}

func TestContactsUsage(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1", "pw")
	out := c.ok("help")
	for _, cmd := range []string{"contacts add", "contacts list", "contacts show", "contacts remove", "contacts block", "contacts unblock", "contacts blocked"} {
		if !strings.Contains(out, cmd) {
			t.Fatalf("usage lacks %q", cmd)
		}
	}
	c.fails(codeUsage, "contacts")
	c.fails(codeUsage, "contacts", "list", "extra")
	c.fails(codeUsage, "contacts", "show")
	c.fails(codeUsage, "contacts", "block")
	c.fails(codeUsage, "contacts", "blocked", "extra")
	// Without an identity key, show gives the fingerprint but no safety
	// number.
	fp := strings.Repeat("e", 64)
	c.ok("contacts", "add", "eve", fp)
	var shown contactShown
	c.okJSON(&shown, "contacts", "show", "eve")
	if shown.Fingerprint != fp || shown.SafetyNumber != "" {
		t.Fatalf("contacts show without a key = %+v", shown)
	}
}

// The signing approval prompt shows the contact names of the requester and
// the signers beside their fingerprints, and a "no" approves nothing.
func TestApprovalPromptNamesContacts(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1", "pw")
	requester, other := strings.Repeat("a", 64), strings.Repeat("b", 64)
	c.ok("contacts", "add", "boss", requester)
	var stderr bytes.Buffer
	e := &env{ctx: t.Context(), getenv: c.getenv, stdin: strings.NewReader("n\n"), stdout: io.Discard, stderr: &stderr,
		configDir: c.env["CHUSME_CONFIG_DIR"]}
	ok, err := e.approver(false, nil)(t.Context(), client.SignRequest{
		CeremonyID: strings.Repeat("c", 32), KeyID: strings.Repeat("d", 64), Requester: requester,
		Signers: []string{requester, other}, Message: []byte("pay 5 EUR"),
		RequesterHead: chusme.ChainHead{Seq: 3, Hash: bytes.Repeat([]byte{0xab}, 32)}, Deadline: time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC),
	})
	if ok || err != nil {
		t.Fatalf("approver = %v, %v; want a refusal", ok, err)
	}
	prompt := stderr.String()
	if !strings.Contains(prompt, "requester       "+requester+" (boss)\n") ||
		!strings.Contains(prompt, "signers         "+requester+" (boss), "+other+"\n") ||
		!strings.Contains(prompt, "verified        the requester signed this request with its key at chain head seq 3 hash abababab") ||
		!strings.Contains(prompt, "request valid   until "+formatTime(time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC))) {
		t.Fatalf("the prompt does not name the contact:\n%s", prompt)
	}
}
