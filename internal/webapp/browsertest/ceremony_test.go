package browsertest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/client/sharefile"
	"github.com/chusme/chusme/internal/servertest"
)

// sharePass is the passphrase the browser seals its share under.
const sharePass = "browser share passphrase"

// group is a 2-of-3 group key of the browser and two library members.
type group struct {
	p       *page
	fp      string // the browser identity
	ms      []*servertest.Member
	res     []*client.DKGResult // the library members'
	keyID   string
	groupPK ed25519.PublicKey
}

// newGroup registers the browser with an invite of ms[0] (the
// administrator) and runs a 2-of-3 DKG of the browser and ms[1], ms[2],
// which the browser starts with its form, naming ms[1] by a contact it
// adds (the request signed by its WebCrypto key, checked by the library
// drivers here).
// With midRound, ms[2] starts only once the browser has sent its round 1
// and midRound has returned.
func newGroup(t *testing.T, midRound func(g *group, id string)) *group {
	srv := servertest.Start(t, "--registration", "open") // for Members; the browser uses an invite all the same
	ms := srv.Members(t, 3)
	g := &group{p: newPage(t, srv.URL), ms: ms[1:]}
	inv, err := ms[0].Client.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	g.fp = g.p.enrol(inv.Invite)

	// The first member by a contact's name (the book in IndexedDB), the
	// second by fingerprint.
	g.p.goTo("#/ceremonies")
	if !eval[bool](g.p, `import('./js/api.js').then(m => m.call('contacts')).then(l => Array.isArray(l) && l.length === 0)`) {
		t.Fatal("an empty contact book is not an empty list")
	}
	g.p.fill(`#contact-name`, "Bob")
	g.p.fill(`#contact-fp`, g.ms[0].Fingerprint)
	g.p.click(`#contact-form button`)
	if got := g.p.text(`#contact-rows tr[data-name="bob"] code`); got != g.ms[0].Fingerprint {
		t.Fatalf("the contact bob is shown with fingerprint %q, want %s", got, g.ms[0].Fingerprint)
	}
	g.p.fill(`#dkg-threshold`, "2")
	g.p.fill(`#dkg-participants`, "bob\n"+g.ms[1].Fingerprint)
	g.p.click(`#dkg-form button`)
	g.p.waitFor(`/^#\/ceremony\/[0-9a-f]{32}$/.test(location.hash)`)
	info, err := g.ms[0].Client.Ceremony(t.Context(), strings.TrimPrefix(eval[string](g.p, `location.hash`), "#/ceremony/"))
	if err != nil || info.Creator != g.fp || info.Threshold != 2 || len(info.Participants) != 3 || !slices.Contains(info.Participants, g.ms[0].Fingerprint) {
		t.Fatalf("the DKG the browser started: %+v, %v", info, err)
	}
	g.res = make([]*client.DKGResult, 2)
	errs := make(chan error, 2)
	run := func(i int) {
		go func() {
			var err error
			g.res[i], err = g.ms[i].Client.RunDKG(t.Context(), info.ID, g.ms[i].Key, nil)
			errs <- err
		}()
	}
	run(0)
	if midRound == nil {
		run(1)
	}
	// Before the browser sends anything, its page says it is missing and
	// how long the round has left.
	g.p.goTo("#/ceremony/" + info.ID)
	g.p.waitText(`#ceremony-details [data-field="Missing"]`, g.fp)
	if left := g.p.text(`#ceremony-details [data-field="Time left in the round"]`); !strings.HasSuffix(left, " s") {
		t.Errorf("time left in the round: %q", left)
	}
	g.takePart(info.ID)
	if midRound != nil {
		servertest.WaitSubmitted(t.Context(), t, g.ms[0].Client, info.ID, g.fp, 1)
		midRound(g, info.ID)
		run(1)
	}
	g.keyID = g.p.waitText(`#result-key`, "")
	for range g.ms {
		if err := <-errs; err != nil {
			t.Fatalf("library RunDKG: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, r := range g.res {
			r.KeyPackage.Zero()
		}
	})
	if g.keyID != g.res[0].KeyID || g.keyID != g.res[1].KeyID {
		t.Fatalf("the browser made key %s, the library members %s and %s", g.keyID, g.res[0].KeyID, g.res[1].KeyID)
	}
	g.groupPK = ed25519.PublicKey(g.res[0].PublicKeyPackage.VerifyingKey().Bytes())
	return g
}

// takePart opens ceremony id in the browser and takes part in it.
func (g *group) takePart(id string) {
	g.p.goTo("#/ceremony/" + id)
	g.p.waitText(`#ceremony-details`, g.fp)
	g.p.fill(`#share-pass`, sharePass)
	g.p.click(`#take-part`)
}

// TestDKGInBrowser runs a 2-of-3 DKG with one browser participant and two
// library participants; the browser's share, kept in IndexedDB, is the
// CLI's share file and opens with its passphrase to the browser's share of
// the same key.
func TestDKGInBrowser(t *testing.T) {
	g := newGroup(t, nil)
	file := eval[string](g.p, fmt.Sprintf(`import('./js/api.js').then(m => m.shareFile(%q))`, g.keyID))
	sf, err := sharefile.Parse([]byte(file))
	if err != nil {
		t.Fatalf("the browser's share file: %v", err)
	}
	if _, err := sf.Open([]byte("wrong")); err == nil {
		t.Error("the share file opens with a wrong passphrase")
	}
	s, err := sf.Open([]byte(sharePass))
	if err != nil {
		t.Fatalf("opening the browser's share file: %v", err)
	}
	defer s.Zero()
	if s.KeyID != g.keyID || s.Identity != g.fp || s.Generation != 1 {
		t.Errorf("share file of key %s, identity %s, generation %d; want %s, %s, 1", s.KeyID, s.Identity, s.Generation, g.keyID, g.fp)
	}
	g.p.goTo("#/ceremonies")
	if got := g.p.waitText(fmt.Sprintf(`#shares a[download=%q]`, g.keyID+".share"), "Export"); !strings.Contains(got, g.keyID[:16]) {
		t.Errorf("the share's export link says %q", got)
	}
}

// sign starts, as library member ms[0], a signing of msg by the browser and
// ms[0], and has the browser open it and unlock its share, up to the
// approval screen. It returns the channel of ms[0]'s RunSign result.
func (g *group) sign(t *testing.T, msg []byte) (chusme.CeremonyInfo, chan signResult) {
	m := g.ms[0]
	info, err := m.Client.StartSign(t.Context(), m.Key, g.keyID, msg, []string{g.fp, m.Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan signResult, 1)
	go func() {
		sig, err := m.Client.RunSign(t.Context(), info.ID, m.Key, g.keyID, g.res[0].KeyPackage, servertest.ApproveAll, nil)
		done <- signResult{sig, err}
	}()
	g.p.goTo("#/ceremony/" + info.ID)
	g.p.waitText(`#ceremony-details`, "sign")
	g.p.fill(`#share-pass`, sharePass)
	g.p.click(`#take-part`)
	g.p.waitFor(`!document.getElementById('approval').hidden`)
	if got := g.p.text(`#requester`); got != m.Fingerprint {
		t.Errorf("the approval screen shows requester %s, want %s", got, m.Fingerprint)
	}
	sum := sha256.Sum256(msg)
	if got := g.p.text(`#message-sha256`); got != hex.EncodeToString(sum[:]) {
		t.Errorf("the approval screen shows SHA-256 %s, want %x", got, sum)
	}
	if got, want := g.p.text(`#signers`), strings.Join(slices.Sorted(slices.Values([]string{g.fp, m.Fingerprint})), " "); got != want {
		t.Errorf("the approval screen shows signers %q, want %q", got, want)
	}
	return info, done
}

type signResult struct {
	sig []byte
	err error
}

// TestSigningInBrowser has the browser approve one signing request, whose
// signature verifies under the group key, and decline another, which ends
// at once as declined. CHUSME_WEB_SCREENSHOTS=DIR saves the approval screen
// to DIR/web-approval.png (docs/ has the committed one).
func TestSigningInBrowser(t *testing.T) {
	g := newGroup(t, nil)

	msg := []byte("pay 5 EUR to Bob")
	_, done := g.sign(t, msg)
	if got := g.p.text(`#message-text`); got != string(msg) {
		t.Errorf("the approval screen shows message %q, want %q", got, msg)
	}
	if dir := os.Getenv("CHUSME_WEB_SCREENSHOTS"); dir != "" {
		g.p.screenshot(filepath.Join(dir, "web-approval.png"), `#approval`)
	}
	g.p.click(`#approve`)
	browserSig := g.p.waitText(`#result-signature`, "")
	r := <-done
	if r.err != nil {
		t.Fatalf("library RunSign: %v", r.err)
	}
	if !ed25519.Verify(g.groupPK, msg, r.sig) {
		t.Fatal("the signature does not verify under the group key")
	}
	if browserSig != hex.EncodeToString(r.sig) {
		t.Errorf("the browser shows signature %s, the library got %x", browserSig, r.sig)
	}

	// A signing the browser starts (its request signed by its WebCrypto
	// key): the library signer checks it, the browser approves its own.
	g.p.goTo("#/ceremonies")
	g.p.fill(`#sign-key`, g.keyID)
	g.p.fill(`#sign-message`, "browser's own")
	g.p.fill(`#sign-signers`, g.fp+"\n"+g.ms[1].Fingerprint)
	g.p.click(`#sign-form button`)
	g.p.waitFor(`/^#\/ceremony\/[0-9a-f]{32}$/.test(location.hash)`)
	own := strings.TrimPrefix(eval[string](g.p, `location.hash`), "#/ceremony/")
	go func() {
		sig, err := g.ms[1].Client.RunSign(t.Context(), own, g.ms[1].Key, g.keyID, g.res[1].KeyPackage, servertest.ApproveAll, nil)
		done <- signResult{sig, err}
	}()
	g.p.fill(`#share-pass`, sharePass)
	g.p.click(`#take-part`)
	if got := g.p.text(`#requester`); got != g.fp {
		t.Errorf("the approval screen of the browser's own request shows requester %s, want %s", got, g.fp)
	}
	g.p.click(`#approve`)
	if r := <-done; r.err != nil || !ed25519.Verify(g.groupPK, []byte("browser's own"), r.sig) {
		t.Fatalf("the signing the browser started: %v", r.err)
	}

	bin := []byte{0, 1, 2, 0xff, 'x'}
	info, done := g.sign(t, bin)
	if got := g.p.text(`#message-hex`); got != hex.EncodeToString(bin) {
		t.Errorf("the approval screen shows binary message %q, want hex %x", got, bin)
	}
	g.p.click(`#decline`)
	g.p.waitText(`#ceremony-details [data-field="Failure"]`, chusme.FailDeclined)
	r = <-done
	var ce *client.CeremonyError
	if !errors.As(r.err, &ce) || ce.Info.Failure == nil || ce.Info.Failure.Reason != chusme.FailDeclined {
		t.Fatalf("library RunSign after the browser declined: %v, want the ceremony failed as declined", r.err)
	}
	now, err := g.ms[0].Client.Ceremony(t.Context(), info.ID)
	if err != nil || now.Status != chusme.CeremonyFailed || len(now.Declines) != 1 || now.Declines[0].Fingerprint != g.fp {
		t.Fatalf("the declined ceremony: %+v, %v", now, err)
	}
}

// TestRejoinAfterReload reloads the page in the middle of a DKG, after the
// browser sent its round 1 and before the round completes: the page logs
// in again and rejoins from the round state sealed in IndexedDB (without
// it the driver cannot rejoin past round 1), the DKG completes with the
// same key for all, and the round state is gone after it.
func TestRejoinAfterReload(t *testing.T) {
	hasState := func(g *group, id string) bool {
		return eval[bool](g.p, fmt.Sprintf(`import('./js/api.js').then(m => m.hasRoundState(%q))`, id))
	}
	var id string
	g := newGroup(t, func(g *group, cid string) {
		id = cid
		if !hasState(g, id) {
			t.Fatal("no round state in IndexedDB after round 1")
		}
		g.p.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#engine.ready`)))
		g.p.goTo("#/")
		g.p.click(`#login`)
		g.p.waitText(`#who`, "Logged in as "+g.fp)
		g.p.goTo("#/ceremony/" + id)
		g.p.waitText(`#rejoin-hint`, "rejoin")
		g.takePart(id)
	})
	if hasState(g, id) {
		t.Error("the round state is still in IndexedDB after the DKG")
	}
}

// TestLiveList shows, on the ceremony list the browser has open, a
// ceremony started elsewhere and its progress, pushed over the WebSocket
// (the ticket flow): the list itself never asks the server again.
func TestLiveList(t *testing.T) {
	srv := servertest.Start(t, "--registration", "open")
	ms := srv.Members(t, 2)
	p := newPage(t, srv.URL)
	inv, err := ms[0].Client.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fp := p.enrol(inv.Invite)
	p.waitText(`#live`, "Live updates on")
	p.goTo("#/ceremonies")
	p.waitText(`#ceremonies-status`, "No ceremonies yet")
	info, err := ms[1].Client.StartDKG(t.Context(), ms[1].Key, 2, []string{fp, ms[1].Fingerprint})
	if err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf(`#ceremony-rows tr[data-id=%q]`, info.ID)
	p.waitText(row, "open")
	if _, err := ms[1].Client.CancelCeremony(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	p.waitText(row, chusme.CeremonyCancelled)
}
