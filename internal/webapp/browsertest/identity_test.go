package browsertest

import (
	"encoding/base32"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// TestRegisterAndLogin registers a WebCrypto key in the browser with an
// invite, logs in by challenge-response, refreshes and logs out; the key is
// not extractable, and no token reaches Web Storage. It logs the time from
// navigation to a usable page and to a loaded engine.
func TestRegisterAndLogin(t *testing.T) {
	srv := servertest.Start(t)
	ids := srv.SetUp(t)
	p := newPage(t, srv.URL)

	usable := eval[float64](p, `performance.getEntriesByName('chusme-usable')[0].startTime`)
	ready := eval[float64](p, `performance.getEntriesByName('chusme-engine-ready')[0].startTime`)
	t.Logf("loopback: the page is usable %.0f ms after navigation starts, the WebAssembly engine ready after %.0f ms", usable, ready)

	inv, err := ids.Admin.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fp := p.enrol(inv.Invite)
	info, err := ids.Admin.Identity(t.Context(), fp)
	if err != nil || info.Fingerprint != fp || info.Status != chusme.StatusActive {
		t.Fatalf("the server's view of the browser identity: %+v, %v", info, err)
	}

	extractable := eval[bool](p, `import('./js/idb.js').then(m => m.get('identity')).then(k => k.privateKey.extractable || k.privateKey.type !== 'private')`)
	if extractable {
		t.Error("the identity key in IndexedDB is extractable")
	}
	stored := eval[int](p, `localStorage.length + sessionStorage.length`)
	if stored != 0 {
		t.Errorf("Web Storage holds %d items, want none (tokens stay in memory)", stored)
	}

	p.click(`#refresh`)
	p.waitText(`#identity-status`, "Session refreshed")
	p.click(`#logout`)
	p.waitText(`#who`, "Not logged in")
	// The engine's session is gone: refreshing now fails.
	p.click(`#refresh`)
	if got := p.waitText(`#identity-status.error`, ""); got == "" {
		t.Error("refresh after logout gave no error")
	}
}

// TestImportKeyFile imports the CLI's sealed key file into the browser: a
// wrong passphrase is refused and stores nothing; the right one opens it
// in the wasm (the vault), the key goes into WebCrypto, non-extractable,
// and logs in as the identity the CLI registered.
func TestImportKeyFile(t *testing.T) {
	srv := servertest.Start(t)
	ids := srv.SetUp(t)
	key := testkit.NewKey(t)
	path := filepath.Join(t.TempDir(), "identity.key")
	if err := keyfile.Save(path, key, []byte("cli passphrase"), vault.LowCostParams); err != nil {
		t.Fatal(err)
	}
	inv, err := ids.Admin.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	servertest.NewMember(t, srv.URL, key).Register(t, inv.Invite)
	fp := testkit.Fingerprint(key)

	p := newPage(t, srv.URL)
	p.do(chromedp.SetUploadFiles(chromedp.CSS(`#keyfile`), []string{path}))
	p.fill(`#keyfile-pass`, "wrong")
	p.click(`#import`)
	p.waitText(`#identity-status.error`, "passphrase")
	if eval[bool](p, `import('./js/api.js').then(m => m.hasKey())`) {
		t.Fatal("a key is stored after a wrong passphrase")
	}
	p.fill(`#keyfile-pass`, "cli passphrase")
	p.click(`#import`)
	p.waitText(`#identity-status`, "Key imported")
	if got := p.text(`#fingerprint`); got != fp {
		t.Fatalf("the imported key's fingerprint %s, want %s", got, fp)
	}
	if eval[bool](p, `import('./js/idb.js').then(m => m.get('identity')).then(k => k.privateKey.extractable)`) {
		t.Error("the imported key is extractable")
	}
	p.click(`#login`)
	p.waitText(`#who`, "Logged in as "+fp)
}

// TestTOTPLogin turns TOTP on in the browser (the enrolment signed by the
// WebCrypto key), then logs in again: without a code the page asks for
// one, with a recovery code it logs in.
func TestTOTPLogin(t *testing.T) {
	srv := servertest.Start(t)
	ids := srv.SetUp(t)
	inv, err := ids.Admin.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := newPage(t, srv.URL)
	fp := p.enrol(inv.Invite)
	p.click(`#totp-start`)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(p.text(`#totp-secret`))
	if err != nil {
		t.Fatal(err)
	}
	p.fill(`#totp-code`, auth.TOTPCode(secret, time.Now()))
	p.click(`#totp-confirm`)
	p.waitText(`#identity-status`, "TOTP is on")
	if n := eval[int](p, `document.querySelectorAll('#recovery-codes li').length`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	recovery := p.text(`#recovery-codes li`)

	p.click(`#logout`)
	p.waitText(`#who`, "Not logged in")
	p.click(`#login`)
	p.waitText(`#identity-status.error`, "TOTP code")
	p.fill(`#totp`, recovery)
	p.click(`#login`)
	p.waitText(`#who`, "Logged in as "+fp)
}

// TestKeyboardOnly enrols and logs in with the keyboard alone (Enter on a
// focused button, Enter in a field submits its form), and checks that
// every control of the identity and ceremony pages has a label.
func TestKeyboardOnly(t *testing.T) {
	srv := servertest.Start(t)
	ids := srv.SetUp(t)
	inv, err := ids.Admin.CreateInvite(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := newPage(t, srv.URL)
	unlabelled := `[...document.querySelectorAll('input, textarea, select')].filter(e => e.labels.length === 0).map(e => e.id).join(' ')`
	if got := eval[string](p, unlabelled); got != "" {
		t.Errorf("identity page: controls without a label: %s", got)
	}
	p.do(chromedp.Focus(chromedp.CSS(`#create-key`)), chromedp.KeyEvent("\r"))
	p.waitFor(`/^[0-9a-f]{64}$/.test(document.getElementById('fingerprint').textContent)`)
	fp := p.text(`#fingerprint`)
	p.do(chromedp.Focus(chromedp.CSS(`#invite`)), chromedp.KeyEvent(inv.Invite+"\r"))
	p.waitText(`#identity-status`, "Registered "+fp)
	p.do(chromedp.Focus(chromedp.CSS(`#login`)), chromedp.KeyEvent("\r"))
	p.waitText(`#who`, "Logged in as "+fp)
	p.goTo("#/ceremonies")
	p.waitText(`#ceremonies-status`, "No ceremonies yet")
	if got := eval[string](p, unlabelled); got != "" {
		t.Errorf("ceremonies page: controls without a label: %s", got)
	}
}
