package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// adminTests are the cases of the administrator's reads and unban.
var adminTests = []storeCase{
	{"ListIdentities/pages_by_fingerprint_and_status", testListIdentities},
	{"UnbanIdentity/restores_active_keeps_sessions_revoked", testUnban},
	{"UnbanIdentity/unknown_not_found", testUnbanUnknown},
	{"LiveSessions/only_live_newest_first", testLiveSessions},
}

// testListIdentities: five identities, two banned, read in pages of two by
// fingerprint, all of them and the banned ones only.
func testListIdentities(t *testing.T, s chusme.Store) {
	var all, banned []string
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		id := mustCreateIdentity(t, s, name)
		all = append(all, id.Fingerprint)
		if i%2 == 1 {
			if _, err := s.BanIdentity(ctx(t), id.Fingerprint, base, chusme.RevokedBan); err != nil {
				t.Fatal(err)
			}
			banned = append(banned, id.Fingerprint)
		}
	}
	slices.Sort(all)
	slices.Sort(banned)
	for _, c := range []struct {
		status string
		want   []string
	}{{"", all}, {chusme.StatusBanned, banned}, {chusme.StatusActive, nil}} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			page, err := s.ListIdentities(ctx(t), c.status, after, 2)
			wantCode(t, "ListIdentities", err, "")
			if len(page) > 2 || pages > len(all) {
				t.Fatalf("ListIdentities(%q, %q, 2) returned %d identities", c.status, after, len(page))
			}
			for _, id := range page {
				if c.status != "" && id.Status != c.status {
					t.Fatalf("ListIdentities(%q) returned a %s identity", c.status, id.Status)
				}
				got = append(got, id.Fingerprint)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].Fingerprint
		}
		want := c.want
		if c.status == chusme.StatusActive {
			want = slices.DeleteFunc(slices.Clone(all), func(fp string) bool { return slices.Contains(banned, fp) })
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ListIdentities(%q) pages = %s, want %s", c.status, strings.Join(got, ","), strings.Join(want, ","))
		}
	}
}

// testUnban: an unbanned identity is active with no ban time, twice over;
// the sessions the ban revoked stay revoked.
func testUnban(t *testing.T, s chusme.Store) {
	a := mustCreateIdentity(t, s, "a")
	a1 := mustLogin(t, s, "a1", a.Fingerprint).Session
	if _, err := s.BanIdentity(ctx(t), a.Fingerprint, base, chusme.RevokedBan); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wantCode(t, "UnbanIdentity", s.UnbanIdentity(ctx(t), a.Fingerprint), "")
		got, err := s.GetIdentity(ctx(t), a.Fingerprint)
		wantCode(t, "GetIdentity", err, "")
		wantIdentity(t, got, a)
	}
	a1.RevokedAt, a1.Reason = base, chusme.RevokedBan
	wantSession(t, mustGetSession(t, s, a1.ID), a1)
}

func testUnbanUnknown(t *testing.T, s chusme.Store) {
	wantCode(t, "UnbanIdentity", s.UnbanIdentity(ctx(t), newIdentity("nobody").Fingerprint), chusme.CodeNotFound)
}

// testLiveSessions: of an identity's sessions, the revoked and the expired
// are left out, the rest come newest first; another identity's are not
// listed.
func testLiveSessions(t *testing.T, s chusme.Store) {
	a := mustCreateIdentity(t, s, "a")
	b := mustCreateIdentity(t, s, "b")
	var want []chusme.Session
	for i, id := range []string{"old", "new", "revoked", "expired"} {
		ns := newSession(id, a.Fingerprint)
		ns.Session.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if id == "expired" {
			ns.Session.ExpiresAt = base.Add(time.Hour)
		}
		wantCode(t, "CreateSession", s.CreateSession(ctx(t), ns), "")
		if id == "old" || id == "new" {
			want = append([]chusme.Session{ns.Session}, want...)
		}
	}
	mustLogin(t, s, "b1", b.Fingerprint)
	wantCode(t, "RevokeSession", s.RevokeSession(ctx(t), "revoked", base, chusme.RevokedLogout), "")
	got, err := s.LiveSessions(ctx(t), a.Fingerprint, base.Add(2*time.Hour))
	wantCode(t, "LiveSessions", err, "")
	if len(got) != len(want) {
		t.Fatalf("LiveSessions returned %d sessions, want %d", len(got), len(want))
	}
	for i := range got {
		wantSession(t, got[i], want[i])
	}
}
