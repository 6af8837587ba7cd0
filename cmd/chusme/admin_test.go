package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chusme/chusme"
)

// The administrator lists the identities, bans alice and sees it in the
// list and in her view, unbans her (twice: idempotent) and sees her new
// session, without its tokens; bob, no administrator, is refused.
func TestAdminIdentitiesCLI(t *testing.T) {
	g := newTrio(t)
	admin, alice, bob := g.admin, g.alice, g.bob
	var list adminIdentitiesOutput
	admin.okJSON(&list, "admin", "identities")
	var fps []string
	for _, id := range list.Identities {
		fps = append(fps, id.Fingerprint)
	}
	want := []string{g.adminFP, g.aliceFP, g.bobFP}
	slices.Sort(want)
	if !slices.Equal(fps, want) {
		t.Fatalf("admin identities = %v, want %v", fps, want)
	}
	bob.fails(chusme.CodeForbidden, "admin", "identities")
	bob.fails(chusme.CodeForbidden, "admin", "identity", g.aliceFP)
	bob.fails(chusme.CodeForbidden, "admin", "unban", g.aliceFP)

	admin.ok("admin", "ban", g.aliceFP)
	admin.okJSON(&list, "admin", "identities", "--status", "banned")
	if len(list.Identities) != 1 || list.Identities[0].Fingerprint != g.aliceFP {
		t.Fatalf("banned identities: %+v", list.Identities)
	}
	var d chusme.AdminIdentityDetail
	admin.okJSON(&d, "admin", "identity", g.aliceFP)
	if d.Status != chusme.StatusBanned || len(d.Sessions) != 0 || len(d.Chain.Entries) != 1 {
		t.Fatalf("admin identity of banned alice: %+v", d)
	}
	alice.fails(chusme.CodeBanned, "login")

	for range 2 {
		var info chusme.IdentityInfo
		admin.okJSON(&info, "admin", "unban", g.aliceFP)
		if info.Status != chusme.StatusActive {
			t.Fatalf("admin unban = %+v", info)
		}
	}
	alice.ok("login")
	out := admin.ok("admin", "identity", g.aliceFP, "--json")
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Status != chusme.StatusActive || len(d.Sessions) != 1 {
		t.Fatalf("admin identity of unbanned alice: %+v, %v", d, err)
	}
	var session struct {
		SessionID    string `json:"session_id"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	data, err := os.ReadFile(filepath.Join(alice.env["CHUSME_CONFIG_DIR"], sessionFileName))
	if err == nil {
		err = json.Unmarshal(data, &session)
	}
	if err != nil || session.RefreshToken == "" || session.AccessToken == "" {
		t.Fatalf("alice's session file: %v", err)
	}
	if d.Sessions[0].ID != session.SessionID {
		t.Fatalf("listed session %s, alice's is %s", d.Sessions[0].ID, session.SessionID)
	}
	if strings.Contains(out, session.RefreshToken) || strings.Contains(out, session.AccessToken) {
		t.Fatal("admin identity printed a token")
	}
	if text := admin.ok("admin", "identity", g.aliceFP); !strings.Contains(text, session.SessionID) {
		t.Fatalf("admin identity text lacks the session:\n%s", text)
	}
	admin.fails("usage", "admin", "identities", "--status", "deleted")
}
