package browsertest

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client/keyfile"
	"github.com/chusme/chusme/client/vault"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// importAndLogIn imports key into the browser as the CLI's sealed key file
// and logs in with it.
func (p *page) importAndLogIn(key ed25519.PrivateKey) {
	p.t.Helper()
	path := filepath.Join(p.t.TempDir(), "identity.key")
	if err := keyfile.Save(path, key, []byte("admin passphrase"), vault.LowCostParams); err != nil {
		p.t.Fatal(err)
	}
	p.do(chromedp.SetUploadFiles(chromedp.CSS(`#keyfile`), []string{path}))
	p.fill(`#keyfile-pass`, "admin passphrase")
	p.click(`#import`)
	p.waitText(`#identity-status`, "Key imported")
	p.click(`#login`)
	p.waitText(`#who`, "Logged in as "+testkit.Fingerprint(key))
}

// TestAdminView logs the administrator in in the browser and checks the
// admin view against the server: the ceremonies of the last day (a
// cancelled and a declined DKG) in the chart and the totals, an invite
// issued in the page that registers someone, one revoked that no longer
// does, and a ban and unban that the server's view follows. A user sees no
// Admin link, and the page shows the server's refusal. CHUSME_WEB_SCREENSHOTS=DIR
// saves the view to DIR/web-admin.png (docs/ has the committed one).
func TestAdminView(t *testing.T) {
	srv := servertest.Start(t)
	ids := srv.SetUp(t)
	ctx := t.Context()
	adminFP, userFP := testkit.Fingerprint(ids.AdminKey), testkit.Fingerprint(ids.UserKey)
	both := []string{adminFP, userFP}
	cancelled, err := ids.Admin.StartDKG(ctx, ids.AdminKey, 2, both)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Admin.CancelCeremony(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	declined, err := ids.Admin.StartDKG(ctx, ids.AdminKey, 2, both)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.User.DeclineCeremony(ctx, declined.ID, ids.UserKey); err != nil {
		t.Fatal(err)
	}
	toRevoke, err := ids.Admin.CreateInvite(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	p := newPage(t, srv.URL)
	p.importAndLogIn(ids.AdminKey)
	p.click(`#nav a[href="#/admin"]`)
	p.waitText(`#admin-status`, "Admin view loaded")

	totals := p.text(`#stats-totals`)
	for _, want := range []string{"cancelled", "declined"} {
		if !strings.Contains(totals, want) {
			t.Errorf("the totals %q do not show the %s DKG", totals, want)
		}
	}
	if n := eval[int](p, `document.querySelectorAll('#stats-chart rect').length`); n < 1 {
		t.Errorf("the chart has %d bars, want the hour of the two DKGs", n)
	}
	if got := p.text(`#server-info`); !strings.Contains(got, ids.Admin.Issuer()) {
		t.Errorf("the server info %q does not name the issuer %s", got, ids.Admin.Issuer())
	}

	// An invite issued in the page registers someone.
	p.click(`#invite`)
	token := p.text(`#invite-token`)
	servertest.NewMember(t, srv.URL, nil).Register(t, token)

	// Revoking one in the page: the server no longer takes it.
	p.click(fmt.Sprintf(`#invite-rows tr[data-id="%s"] button`, toRevoke.ID))
	p.waitText(`#admin-status`, "revoked")
	if _, err := servertest.NewMember(t, srv.URL, nil).Client.Register(ctx, testkit.NewKey(t), toRevoke.Invite); chusme.ErrorCode(err) != chusme.CodeInviteInvalid {
		t.Errorf("registering with the revoked invite: %v, want %s", err, chusme.CodeInviteInvalid)
	}

	// Ban, then unban, the user: the server's view follows each click.
	row := fmt.Sprintf(`#identity-rows tr[data-fp="%s"]`, userFP)
	for _, want := range []string{chusme.StatusBanned, chusme.StatusActive} {
		p.click(row + ` button`)
		p.waitText(`#admin-status`, "is "+want)
		info, err := ids.Admin.Identity(ctx, userFP)
		if err != nil || info.Status != want {
			t.Fatalf("after the click the server has the user %+v, %v; want %s", info, err, want)
		}
	}
	if dir := os.Getenv("CHUSME_WEB_SCREENSHOTS"); dir != "" { // at 720 px: the page is made for 360 px and up
		p.do(chromedp.EmulateViewport(720, 900))
		eval[any](p, `document.querySelectorAll('.scroll').forEach(e => { e.scrollLeft = 0; })`)
		p.screenshot(filepath.Join(dir, "web-admin.png"), `#view`)
		p.do(chromedp.EmulateViewport(360, 900))
	}

	// A user: no Admin link, and the page shows the server's refusal.
	p.click(`#nav a[href="#/"]`)
	p.click(`#logout`)
	p.waitText(`#who`, "Not logged in")
	eval[any](p, `window.confirm = () => true`) // "Replace the identity key this browser holds?"
	p.importAndLogIn(ids.UserKey)
	if n := eval[int](p, `document.querySelectorAll('#nav a[href="#/admin"]').length`); n != 0 {
		t.Error("a user sees the Admin link")
	}
	p.goTo(`#/admin`)
	if got := p.waitText(`#admin-status.error`, ""); got == "" {
		t.Error("the admin view gave a user no error")
	}
}
