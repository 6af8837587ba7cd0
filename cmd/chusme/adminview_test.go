package main

import (
	"strings"
	"testing"

	"github.com/chusme/chusme"
)

// The administrator lists the invites (the two alice and bob used, then a
// new one) without a token, revokes the new one, and can't revoke a used
// one; bob, no administrator, is refused.
func TestAdminInvitesCLI(t *testing.T) {
	g := newTrio(t)
	admin, bob := g.admin, g.bob
	var inv chusme.InviteResponse
	admin.okJSON(&inv, "admin", "invite")
	var list adminInvitesOutput
	admin.okJSON(&list, "admin", "invites")
	usedBy := map[string]bool{}
	for _, i := range list.Invites[1:] {
		usedBy[i.UsedBy] = i.Status == chusme.InviteUsed
	}
	if len(list.Invites) != 3 || list.Invites[0].ID != inv.ID || list.Invites[0].Status != chusme.InviteOutstanding ||
		!usedBy[g.aliceFP] || !usedBy[g.bobFP] {
		t.Fatalf("admin invites = %+v, want the new one, then the two alice and bob used", list.Invites)
	}
	text := admin.ok("admin", "invites")
	if !strings.Contains(text, inv.ID) || strings.Contains(text, inv.Invite) || !strings.Contains(text, "used by "+g.aliceFP) {
		t.Fatalf("admin invites text:\n%s", text)
	}
	bob.fails(chusme.CodeForbidden, "admin", "invites")
	bob.fails(chusme.CodeForbidden, "admin", "invite", "revoke", inv.ID)
	admin.fails(chusme.CodeInviteUsed, "admin", "invite", "revoke", list.Invites[1].ID)
	if out := admin.ok("admin", "invite", "revoke", inv.ID); !strings.Contains(out, "revoked") {
		t.Fatalf("admin invite revoke printed %q", out)
	}
	admin.fails(chusme.CodeNotFound, "admin", "invite", "revoke", inv.ID)
	admin.fails("usage", "admin", "invite", "revoke", "nope")
	admin.fails("usage", "admin", "invite", "revoke")
	carol := newCLI(t, g.s.URL, "carol pw")
	carol.ok("keygen")
	carol.fails(chusme.CodeInviteInvalid, "register", "--invite", inv.Invite)
}

// The ceremony stats show nothing before any ceremony, then a completed
// DKG in the totals and, as the last hour, in its sparkline; bob is
// refused and bad hours are a usage error.
func TestAdminStatsCLI(t *testing.T) {
	g := newTrio(t)
	admin := g.admin
	var st chusme.CeremonyStats
	admin.okJSON(&st, "admin", "stats")
	if len(st.Buckets) != chusme.DefaultStatsHours || len(st.Totals) != 0 {
		t.Fatalf("stats before any ceremony: %+v", st)
	}
	if out := admin.ok("admin", "stats", "--hours", "3"); !strings.Contains(out, "\nnone\n") {
		t.Fatalf("admin stats without ceremonies:\n%s", out)
	}
	dkgCLI(t, 2, admin, []*cli{g.alice}, g.adminFP, g.aliceFP)
	out := admin.ok("admin", "stats", "--hours", "3")
	lines := strings.Split(out, "\n")
	var total, spark string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 4 && f[0] == chusme.KindDKG {
			total = strings.Join(f, " ")
		} else if len(f) == 2 && f[0] == chusme.CeremonyCompleted {
			spark = f[1]
		}
	}
	// The DKG ended in the last hour, or in the one before if an hour
	// began since.
	if total != "dkg completed - 1" || (spark != "··█" && spark != "·█·") {
		t.Fatalf("admin stats after a DKG (total %q, sparkline %q):\n%s", total, spark, out)
	}
	g.bob.fails(chusme.CodeForbidden, "admin", "stats")
	for _, h := range []string{"0", "169", "x"} {
		admin.fails("usage", "admin", "stats", "--hours", h)
	}
}
