package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/internal/servertest"
)

// idWatcher is a stderr that records everything and hands over the first
// ceremony id the progress display names.
type idWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	id   chan string
	sent bool
	re   *regexp.Regexp // what to hand over (group 1); nil: progressID
}

var progressID = regexp.MustCompile(`ceremony ([0-9a-f]{32}) \(`)

func (w *idWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if m := cmp.Or(w.re, progressID).FindSubmatch(w.buf.Bytes()); m != nil {
			w.id <- string(m[1])
			w.sent = true
		}
	}
	return len(p), nil
}

func (w *idWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// background is a CLI command running in a goroutine.
type background struct {
	args   []string
	stdout bytes.Buffer
	stderr *idWatcher
	err    error
	done   chan struct{}
}

// start runs the CLI in the background.
func (c *cli) start(args ...string) *background {
	return c.startWith(strings.NewReader(""), nil, args...)
}

// startWith runs the CLI in the background reading stdin; ceremonyID hands
// over group 1 of re's first match on stderr (nil: the ceremony id).
func (c *cli) startWith(stdin io.Reader, re *regexp.Regexp, args ...string) *background {
	b := &background{args: args, stderr: &idWatcher{id: make(chan string, 1), re: re}, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.err = run(context.Background(), args, c.getenv, stdin, &b.stdout, b.stderr)
	}()
	return b
}

// ceremonyID waits for the command's progress display to name its ceremony.
func (b *background) ceremonyID(t *testing.T) string {
	t.Helper()
	select {
	case id := <-b.stderr.id:
		return id
	case <-b.done:
		t.Fatalf("chusme %s ended before naming its ceremony: %v\n%s%s", strings.Join(b.args, " "), b.err, b.stdout.String(), b.stderr)
	case <-time.After(time.Minute):
		t.Fatalf("chusme %s named no ceremony\n%s", strings.Join(b.args, " "), b.stderr)
	}
	return ""
}

// wait waits for the command and decodes its JSON output into v (nil: the
// command is expected to fail, and its error is returned).
func (b *background) wait(t *testing.T, v any) error {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("chusme %s did not end\n%s", strings.Join(b.args, " "), b.stderr)
	}
	if v == nil {
		if b.err == nil {
			t.Fatalf("chusme %s succeeded, want an error\n%s", strings.Join(b.args, " "), b.stdout.String())
		}
		return b.err
	}
	if b.err != nil {
		t.Fatalf("chusme %s: %v\nstdout: %s\nstderr: %s", strings.Join(b.args, " "), b.err, b.stdout.String(), b.stderr)
	}
	if err := json.Unmarshal(b.stdout.Bytes(), v); err != nil {
		t.Fatalf("chusme %s: output is not one JSON object: %v\n%s", strings.Join(b.args, " "), err, b.stdout.String())
	}
	return nil
}

// newMember makes an identity with its own config directory, registered
// with an invite of admin.
func newMember(t *testing.T, s *servertest.Server, admin *cli, pass string) (*cli, string) {
	t.Helper()
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	c := newCLI(t, s.URL, pass)
	fp := strings.TrimSpace(c.ok("keygen"))
	c.ok("register", "--invite", inv.Invite)
	return c, fp
}

// A 2-of-3 DKG, a signing and a refused signing, each CLI in its own
// config directory, through the real server.
func TestCeremonyCLI(t *testing.T) {
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	adminFP := strings.TrimSpace(admin.ok("keygen"))
	admin.ok("setup", "--token", s.SetupToken(t))
	alice, aliceFP := newMember(t, s, admin, "alice pw")
	bob, bobFP := newMember(t, s, admin, "bob pw")

	// DKG: the admin starts it (and is a participant without being
	// listed); the others join once their list shows it.
	dkg := admin.start("ceremony", "dkg", "--threshold", "2", "--participants", aliceFP+","+bobFP, "--json")
	id := dkg.ceremonyID(t)
	var list chusme.CeremonyList
	alice.okJSON(&list, "ceremony", "list", "--status", "open")
	if len(list.Ceremonies) != 1 || list.Ceremonies[0].ID != id || list.Ceremonies[0].Kind != chusme.KindDKG {
		t.Fatalf("alice's open ceremonies = %+v, want %s", list, id)
	}
	// Alice joins the one invitation waiting for her without its ID; Bob
	// names it by its first 12 digits, as the progress line shows it.
	joinA := alice.start("ceremony", "join", "--json")
	joinB := bob.start("ceremony", "join", id[:12], "--json")
	var outs [3]dkgOutput
	dkg.wait(t, &outs[0])
	joinA.wait(t, &outs[1])
	joinB.wait(t, &outs[2])
	keyID := outs[0].KeyID
	for i, c := range []*cli{admin, alice, bob} {
		o := outs[i]
		if o.CeremonyID != id || o.KeyID != keyID || o.Status != chusme.CeremonyCompleted || o.Threshold != 2 || len(o.Participants) != 3 {
			t.Fatalf("participant %d printed %+v", i, o)
		}
		path := filepath.Join(c.env["CHUSME_CONFIG_DIR"], "shares", keyID+".share")
		if o.ShareFile != path {
			t.Fatalf("share file %s, want %s", o.ShareFile, path)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("share file: %v, %v", fi, err)
		}
		sh, err := sharefile.Load(path, []byte(c.env["CHUSME_PASSPHRASE"]))
		if err != nil {
			t.Fatal(err)
		}
		secret := sh.KeyPackage.SigningShare().Bytes()
		kp, _ := sh.KeyPackage.MarshalBinary()
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, secret) || bytes.Contains(data, kp) ||
			bytes.Contains(data, []byte(hex.EncodeToString(secret))) || bytes.Contains(data, []byte(base64.RawURLEncoding.EncodeToString(secret))) {
			t.Fatalf("%s holds the signing share in clear", path)
		}
		sh.Zero()
		if !strings.Contains(dkg.stderr.String(), "round 1/3") {
			t.Fatalf("no progress shown:\n%s", dkg.stderr)
		}
	}
	t.Logf("progress of ceremony dkg:\n%s", dkg.stderr)
	var gk chusme.GroupKeyInfo
	bob.okJSON(&gk, "keys", "show", keyID)
	if gk.KeyID != keyID || !bytes.Equal(gk.PublicKey, outs[0].PublicKey) || gk.Threshold != 2 ||
		!slices.Contains(gk.Participants, adminFP) {
		t.Fatalf("keys show = %+v", gk)
	}
	var cert struct {
		Valid         bool
		KeyID         string `json:"key_id"`
		Confirmations []struct {
			Fingerprint string
			HeadSeq     uint64 `json:"head_seq"`
		}
	}
	bob.okJSON(&cert, "keys", "verify-cert", keyID)
	if !cert.Valid || cert.KeyID != keyID || len(cert.Confirmations) != len(gk.Participants) ||
		cert.Confirmations[0].Fingerprint != gk.Participants[0] {
		t.Fatalf("keys verify-cert = %+v", cert)
	}
	if out := bob.ok("keys", "verify-cert", keyID); !strings.Contains(out, "is certified") || !strings.Contains(out, adminFP) {
		t.Fatalf("keys verify-cert:\n%s", out)
	}

	// Signing by the admin and alice; alice approves the hash on the
	// command line.
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "message")
	msg := []byte("release v1.0.0 digest 1f2e3d")
	os.WriteFile(msgFile, msg, 0o600)
	sum := sha256.Sum256(msg)
	h := hex.EncodeToString(sum[:])
	sign := admin.start("ceremony", "sign", "--key", keyID, "--message-file", msgFile, "--signers", aliceFP, "--json")
	signID := sign.ceremonyID(t)
	var joined, signed signOutput
	alice.okJSON(&joined, "ceremony", "join", signID, "--yes", "--expect-sha256", h)
	sign.wait(t, &signed)
	if !bytes.Equal(signed.Signature, joined.Signature) || signed.CeremonyID != signID || joined.Requester != adminFP || joined.MessageSHA256 != h {
		t.Fatalf("sign printed %+v, join printed %+v", signed, joined)
	}
	sig := []byte(signed.Signature)
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
		t.Fatal("the signature does not verify under the group key")
	}
	// keys verify takes the signature as --json prints it (base64url),
	// as the text output shows it (hex), and in standard base64.
	sigB64URL, sigHex := base64.RawURLEncoding.EncodeToString(sig), hex.EncodeToString(sig)

	// keys verify: locally, against the fetched group key.
	if out := bob.ok("keys", "verify", keyID[:12], sigB64URL, msgFile); !strings.Contains(out, "verifies") {
		t.Fatalf("keys verify printed %q", out)
	}
	bob.ok("keys", "verify", keyID, sigHex, msgFile)
	bob.ok("keys", "verify", keyID, base64.StdEncoding.EncodeToString(sig), msgFile)
	bob.fails(codeUnknownID, "keys", "verify", "0123456789abcdef", sigHex, msgFile)
	alice.fails(codeUnknownID, "ceremony", "status", "0123456789abcdef")
	flipped := filepath.Join(dir, "flipped")
	bad := slices.Clone(msg)
	bad[0] ^= 1
	os.WriteFile(flipped, bad, 0o600)
	if msg := bob.fails(codeInvalidSignature, "keys", "verify", keyID, sigHex, flipped); !strings.Contains(msg, "does NOT verify") {
		t.Fatalf("keys verify of a flipped message: %q", msg)
	}

	// A join with the wrong expected hash refuses and declines, signed:
	// the ceremony fails at once naming alice, and bob's command ends
	// rather than wait out the round; so does a join nobody approves.
	wrong := sha256.Sum256([]byte("something else"))
	for _, join := range [][]string{{"--yes", "--expect-sha256", hex.EncodeToString(wrong[:])}, nil} {
		sign := bob.start("ceremony", "sign", "--key", keyID, "--message-file", msgFile, "--signers", aliceFP)
		id := sign.ceremonyID(t)
		code := codeMessageMismatch
		if join == nil {
			code = codeNotApproved
		}
		_, errOut, err := alice.run(append([]string{"ceremony", "join", id}, join...)...)
		if err == nil || !strings.Contains(errOut, h) || !strings.HasSuffix(errOut, "("+code+")\n") {
			t.Fatalf("join %v: %v\n%s", join, err, errOut)
		}
		var st chusme.CeremonyInfo
		alice.okJSON(&st, "ceremony", "status", id)
		if st.Status != chusme.CeremonyFailed || st.Failure == nil || st.Failure.Reason != chusme.FailDeclined ||
			!slices.Equal(st.Failure.Culprits, []string{aliceFP}) || len(st.Declines) != 1 || slices.Contains(st.Submitted, aliceFP) {
			t.Fatalf("after the refusal %v: %+v", join, st)
		}
		if out := alice.ok("ceremony", "status", id); !strings.Contains(out, "declined") {
			t.Fatalf("ceremony status of a declined ceremony printed\n%s", out)
		}
		sign.wait(t, nil)
		if !strings.Contains(sign.stderr.String(), "declined") {
			t.Fatalf("the declined signer printed\n%s", sign.stderr)
		}
	}
	// A ceremony its creator cancels ends its command too.
	sign2 := bob.start("ceremony", "sign", "--key", keyID, "--message-file", msgFile, "--signers", aliceFP)
	id2 := sign2.ceremonyID(t)
	var st chusme.CeremonyInfo
	bob.okJSON(&st, "ceremony", "cancel", id2)
	if st.Status != chusme.CeremonyCancelled {
		t.Fatalf("cancel: %+v", st)
	}
	sign2.wait(t, nil)
	if !strings.Contains(sign2.stderr.String(), "cancelled") {
		t.Fatalf("the cancelled signer printed\n%s", sign2.stderr)
	}

	// status and list in text form.
	if out := alice.ok("ceremony", "status", signID); !strings.Contains(out, "completed") || !strings.Contains(out, sigHex) {
		t.Fatalf("ceremony status printed\n%s", out)
	}
	alice.okJSON(&list, "ceremony", "list")
	if len(list.Ceremonies) != 5 {
		t.Fatalf("alice's ceremonies = %+v", list)
	}
	if out := alice.ok("ceremony", "list", "--status", "cancelled"); !strings.Contains(out, id2) || strings.Contains(out, signID) {
		t.Fatalf("ceremony list --status cancelled printed\n%s", out)
	}
	alice.okJSON(&list, "ceremony", "list", "--limit", "1")
	if len(list.Ceremonies) != 1 || list.Ceremonies[0].ID != id2 {
		t.Fatalf("ceremony list --limit 1 = %+v, want the newest, %s", list, id2)
	}
	alice.okJSON(&list, "ceremony", "list", "--from-contacts")
	if len(list.Ceremonies) != 0 {
		t.Fatalf("ceremony list --from-contacts without contacts = %+v", list)
	}
	alice.ok("contacts", "add", "bob", bobFP)
	alice.okJSON(&list, "ceremony", "list", "--from-contacts")
	if len(list.Ceremonies) != 3 || list.Ceremonies[0].ID != id2 ||
		slices.ContainsFunc(list.Ceremonies, func(c chusme.CeremonyInfo) bool { return c.Creator != bobFP }) {
		t.Fatalf("ceremony list --from-contacts = %+v, want only bob's three, %s first", list, id2)
	}
}

// ceremony decline ends a DKG at once: the starter's command ends naming
// the decliner, and status shows the signed decline and the round timeout
// the starter asked for.
func TestCeremonyDeclineCLI(t *testing.T) {
	s := servertest.Start(t)
	admin := newCLI(t, s.URL, "admin pw")
	admin.ok("keygen")
	admin.ok("setup", "--token", s.SetupToken(t))
	alice, aliceFP := newMember(t, s, admin, "alice pw")

	dkg := admin.start("ceremony", "dkg", "--threshold", "2", "--participants", aliceFP, "--round-timeout", "30m")
	id := dkg.ceremonyID(t)
	var st chusme.CeremonyInfo
	alice.okJSON(&st, "ceremony", "decline", id)
	if st.Status != chusme.CeremonyFailed || st.Failure.Reason != chusme.FailDeclined || !slices.Equal(st.Failure.Culprits, []string{aliceFP}) ||
		st.RoundTimeout != 1800 {
		t.Fatalf("after ceremony decline: %+v", st)
	}
	dkg.wait(t, nil)
	if !strings.Contains(dkg.stderr.String(), "declined") || !strings.Contains(dkg.stderr.String(), "30m0s left") ||
		!strings.Contains(dkg.stderr.String(), "Next: chusme ceremony join "+id) {
		t.Fatalf("the starter printed\n%s", dkg.stderr)
	}
	out := alice.ok("ceremony", "status", id)
	for _, want := range []string{"declined", "30m0s", aliceFP} {
		if !strings.Contains(out, want) {
			t.Fatalf("ceremony status lacks %q:\n%s", want, out)
		}
	}
	// Declining again says the same; a ceremony that is not yours is unknown.
	alice.okJSON(&st, "ceremony", "decline", id)
	admin.fails(chusme.CodeCeremonyClosed, "ceremony", "decline", id)
}

func TestCeremonyUsage(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1", "pw")
	out := c.ok("help")
	for _, cmd := range []string{"ceremony dkg", "ceremony join", "ceremony sign", "ceremony status", "ceremony list", "ceremony decline", "keys show", "keys verify", "keys verify-cert"} {
		if !strings.Contains(out, cmd) {
			t.Fatalf("usage lacks %q", cmd)
		}
	}
	fp := strings.Repeat("ab", 32)
	id := strings.Repeat("cd", 16)
	for _, args := range [][]string{
		{"ceremony"},
		{"ceremony", "frobnicate"},
		{"ceremony", "dkg"},
		{"ceremony", "dkg", "--threshold", "2"},
		{"ceremony", "dkg", "--threshold", "1", "--participants", fp},
		{"ceremony", "dkg", "--threshold", "2", "--participants", "no/pe"},
		{"ceremony", "dkg", "--threshold", "2", "--participants", fp + "," + fp},
		{"ceremony", "join", "not-an-id"},
		{"ceremony", "join", id, "--yes"},
		{"ceremony", "join", id, "--expect-sha256", "abc"},
		{"ceremony", "sign", "--message-file", "m"},
		{"ceremony", "sign", "--key", fp},
		{"ceremony", "status"},
		{"ceremony", "list", "--status", "weird"},
		{"ceremony", "list", "--limit", "101"},
		{"ceremony", "list", "--limit", "-1"},
		{"ceremony", "cancel", id, id},
		{"ceremony", "decline"},
		{"ceremony", "decline", "not-an-id"},
		{"ceremony", "sign", "--key", fp, "--message-file", "m", "--round-timeout", "500ms"},
		{"ceremony", "sign", "--key", fp, "--message-file", "m", "--round-timeout", "90500ms"},
		{"ceremony", "dkg", "--threshold", "2", "--participants", fp, "--round-timeout", "25h"},
		{"keys"},
		{"keys", "show", "x"},
		{"keys", "verify", fp, "00"},
		{"keys", "verify", fp, "00", "m"},
		{"keys", "verify-cert"},
		{"keys", "verify-cert", "x"},
	} {
		c.fails("usage", args...)
	}
}

func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	me, other := strings.Repeat("1", 64), strings.Repeat("2", 64)
	info := chusme.CeremonyInfo{ID: strings.Repeat("a", 32), Kind: chusme.KindDKG, Status: chusme.CeremonyOpen, Round: 2, Rounds: 3,
		Participants: []string{me, other}, Submitted: []string{me}, Deadline: now.Add(90 * time.Second)}
	info.Missing, info.Needed = []string{other}, 1
	line := progressLine(info, me, nil, now)
	for _, want := range []string{"round 2/3", "1 submitted (you)", "waiting for 222222222222", "1m30s left"} {
		if !strings.Contains(line, want) {
			t.Fatalf("%q lacks %q", line, want)
		}
	}
	if line := progressLine(info, me, contactNames{other: "bob"}, now); !strings.Contains(line, "waiting for 222222222222 (bob),") {
		t.Fatalf("%q does not name bob", line)
	}
	info.Status = chusme.CeremonyFailed
	info.Failure = &chusme.CeremonyFailure{Reason: chusme.FailDeadline, Message: "round 2 missed its deadline", Culprits: []string{other}}
	if line := progressLine(info, me, nil, now); !strings.Contains(line, "failed in round 2") || !strings.Contains(line, "deadline") {
		t.Fatalf("%q", line)
	}
}

// On a terminal the progress is one line redrawn in place, ended by a
// newline when the ceremony ends.
func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	me := strings.Repeat("1", 64)
	v := &progressView{w: &buf, me: me, tty: true}
	info := chusme.CeremonyInfo{ID: strings.Repeat("a", 32), Kind: chusme.KindSign, Status: chusme.CeremonyOpen, Round: 1, Rounds: 2,
		Participants: []string{me}, Deadline: time.Now().Add(time.Minute), Version: 1}
	v.update(info)
	v.update(info) // same version: not redrawn
	info.Status, info.Version = chusme.CeremonyCompleted, 2
	v.update(info)
	v.finish()
	out := buf.String()
	if strings.Count(out, "\r\033[K") < 2 || !strings.HasSuffix(out, "(sign): completed\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("terminal progress %q", out)
	}
}
