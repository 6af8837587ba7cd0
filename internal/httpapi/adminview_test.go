package httpapi_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/sqlite"
	"github.com/chusme/chusme/internal/testkit"
)

// seedCeremony stores, in the SQLite store of dataDir before a server
// starts on it, a ceremony of kind created at created that reached status
// for reason at ended.
func seedCeremony(t *testing.T, dataDir, id, kind, status, reason string, created, ended time.Time) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(dataDir, "chusme.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.CreateCeremony(t.Context(), chusme.Ceremony{
		ID: id, Kind: kind, Creator: "seed", Status: status, Round: 1, Threshold: 2,
		Participants: []string{"a", "b"}, Submitted: []string{}, Culprits: []string{}, Deadline: created.Add(time.Minute),
		Version: 1, CreatedAt: created, UpdatedAt: ended, RoundStarted: created, FailureReason: reason,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The ceremony stats count the ceremonies of each outcome in the hour
// they ended (open ones: were created), by kind, status and reason: two
// stored earlier (3 and 30 hours ago) and four run now on the real
// server (completed, declined, cancelled, open). A user is refused, and
// so are bad hours.
func TestAdminCeremonyStats(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	seedCeremony(t, dir, "seed-failed", chusme.KindDKG, chusme.CeremonyFailed, chusme.FailDeadline, now.Add(-4*time.Hour), now.Add(-3*time.Hour))
	seedCeremony(t, dir, "seed-old", chusme.KindSign, chusme.CeremonyCompleted, "", now.Add(-31*time.Hour), now.Add(-30*time.Hour))
	srv := servertest.StartIn(t, dir, "--registration", "open")
	ms := srv.Members(t, 3)
	admin, user := ms[0], ms[1]
	ctx := t.Context()

	servertest.DKG(t, ms, 2)
	start := func() string {
		info, err := admin.Client.StartDKG(ctx, admin.Key, 2, servertest.Fingerprints(ms))
		if err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	declined, cancelled, open := start(), start(), start()
	if _, err := user.Client.DeclineCeremony(ctx, declined, user.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Client.CancelCeremony(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	list, err := admin.Client.Ceremonies(ctx, "")
	if err != nil {
		t.Fatal(err)
	}

	a := &api{t: t, srv: srv}
	tok := admin.Access(t)
	var st chusme.CeremonyStats
	a.ok(200, "GET", "/v1/admin/ceremony-stats", tok, nil, &st)
	if len(st.Buckets) != 24 || st.BucketSeconds != 3600 || !st.Until.Equal(st.Since.Add(24*time.Hour)) ||
		st.Until.Truncate(time.Hour) != st.Until || !st.Until.After(now) || st.Until.After(now.Add(2*time.Hour)) {
		t.Fatalf("stats window %v to %v, %d buckets of %d s, asked at %v", st.Since, st.Until, len(st.Buckets), st.BucketSeconds, now)
	}
	// want holds every count the stats must show, by bucket.
	want := make([][]chusme.CeremonyCount, 24)
	add := func(at time.Time, c chusme.CeremonyCount) {
		i := int(at.Sub(st.Since) / time.Hour)
		want[i] = append(want[i], c)
	}
	add(now.Add(-3*time.Hour), chusme.CeremonyCount{Kind: chusme.KindDKG, Status: chusme.CeremonyFailed, Reason: chusme.FailDeadline, Count: 1})
	if len(list) != 4 {
		t.Fatalf("the administrator sees %d ceremonies, want 4", len(list))
	}
	outcomes := map[string]string{}
	for _, c := range list {
		at, reason := c.UpdatedAt, ""
		if c.Status == chusme.CeremonyOpen {
			at = c.CreatedAt
		}
		if c.Failure != nil {
			reason = c.Failure.Reason
		}
		outcomes[c.ID] = c.Status + "/" + reason
		add(at, chusme.CeremonyCount{Kind: c.Kind, Status: c.Status, Reason: reason, Count: 1})
	}
	if outcomes[declined] != "failed/declined" || outcomes[cancelled] != "cancelled/cancelled" || outcomes[open] != "open/" {
		t.Fatalf("ceremony outcomes %v", outcomes)
	}
	var totals []chusme.CeremonyCount
	for i, b := range st.Buckets {
		if !b.Start.Equal(st.Since.Add(time.Duration(i) * time.Hour)) {
			t.Fatalf("bucket %d starts at %v, since %v", i, b.Start, st.Since)
		}
		w := merge(want[i])
		if !slices.Equal(b.Counts, w) {
			t.Fatalf("bucket %d (%v) counts %+v, want %+v", i, b.Start, b.Counts, w)
		}
		totals = append(totals, w...)
	}
	if w := merge(totals); !slices.Equal(st.Totals, w) || len(w) != 5 {
		t.Fatalf("totals %+v, want %+v", st.Totals, w)
	}

	// Two days reach the ceremony that ended 30 hours ago.
	a.ok(200, "GET", "/v1/admin/ceremony-stats?hours=48", tok, nil, &st)
	oldSign := chusme.CeremonyCount{Kind: chusme.KindSign, Status: chusme.CeremonyCompleted, Count: 1}
	if len(st.Buckets) != 48 || !slices.Contains(st.Totals, oldSign) || !slices.Contains(st.Buckets[int(now.Add(-30*time.Hour).Sub(st.Since)/time.Hour)].Counts, oldSign) {
		t.Fatalf("48 hours: %d buckets, totals %+v", len(st.Buckets), st.Totals)
	}

	a.do("GET", "/v1/admin/ceremony-stats", user.Access(t), nil).Expect(t, 403, chusme.CodeForbidden)
	a.do("GET", "/v1/admin/ceremony-stats", "", nil).Expect(t, 401, chusme.CodeUnauthorized)
	for _, q := range []string{"0", "169", "-1", "x", "1.5", "24h"} {
		a.do("GET", "/v1/admin/ceremony-stats?hours="+q, tok, nil).Expect(t, 400, chusme.CodeInvalidRequest)
	}
}

// merge sums counts of one kind, status and reason, ordered by them.
func merge(cs []chusme.CeremonyCount) []chusme.CeremonyCount {
	out := []chusme.CeremonyCount{}
	for _, c := range cs {
		i := slices.IndexFunc(out, func(o chusme.CeremonyCount) bool {
			return o.Kind == c.Kind && o.Status == c.Status && o.Reason == c.Reason
		})
		if i < 0 {
			out = append(out, c)
			continue
		}
		out[i].Count += c.Count
	}
	slices.SortFunc(out, func(a, b chusme.CeremonyCount) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Status, b.Status), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

// The administrator lists the invites newest first, in pages, with who
// used one and when, and never a token or its hash; revokes an unused one,
// which then registers no one; can't revoke a used one. A user is
// refused, and so are bad parameters.
func TestAdminInvites(t *testing.T) {
	a := &api{t: t, srv: servertest.Start(t)}
	adminKey := a.setupAdmin()
	adminTok := a.login(adminKey).AccessToken
	invite := func() chusme.InviteResponse {
		var inv chusme.InviteResponse
		a.ok(201, "POST", "/v1/admin/invites", adminTok, nil, &inv)
		return inv
	}
	used, revoked, outstanding := invite(), invite(), invite()
	userKey := testkit.NewKey(t)
	a.ok(201, "POST", "/v1/identities", "", testkit.RegisterRequest(a.srv.URL, userKey, used.Invite), nil)

	r := a.do("GET", "/v1/admin/invites", adminTok, nil)
	for _, inv := range []chusme.InviteResponse{used, revoked, outstanding} {
		h := sha256.Sum256([]byte(inv.Invite))
		for _, secret := range []string{inv.Invite, hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])} {
			if bytes.Contains(r.Body, []byte(secret)) {
				t.Fatalf("the invite list shows a token or its hash %q: %s", secret, r.Body)
			}
		}
	}
	var page chusme.AdminInvitePage
	r.Want(t, 200, &page)
	adminFP, userFP := testkit.Fingerprint(adminKey), testkit.Fingerprint(userKey)
	byID := map[string]chusme.AdminInvite{}
	for _, inv := range page.Invites {
		if inv.CreatedBy != adminFP || !inv.ExpiresAt.After(inv.CreatedAt) {
			t.Fatalf("listed invite %+v", inv)
		}
		byID[inv.ID] = inv
	}
	if u := byID[used.ID]; len(page.Invites) != 3 || u.Status != chusme.InviteUsed || u.UsedBy != userFP || u.UsedAt == nil ||
		byID[revoked.ID].Status != chusme.InviteOutstanding || byID[outstanding.ID].UsedAt != nil || page.NextCursor != "" {
		t.Fatalf("invites %s", r.Body)
	}

	var p1, p2 chusme.AdminInvitePage
	a.ok(200, "GET", "/v1/admin/invites?limit=2", adminTok, nil, &p1)
	a.ok(200, "GET", "/v1/admin/invites?limit=2&cursor="+p1.NextCursor, adminTok, nil, &p2)
	var paged []chusme.AdminInvite
	if paged = append(p1.Invites, p2.Invites...); p1.NextCursor == "" || p2.NextCursor != "" || !slices.Equal(ids(paged), ids(page.Invites)) {
		t.Fatalf("pages of 2 list %v then %v, want %v", ids(p1.Invites), ids(p2.Invites), ids(page.Invites))
	}

	a.ok(204, "DELETE", "/v1/admin/invites/"+revoked.ID, adminTok, nil, nil)
	a.do("POST", "/v1/identities", "", testkit.RegisterRequest(a.srv.URL, testkit.NewKey(t), revoked.Invite)).Expect(t, 403, chusme.CodeInviteInvalid)
	a.do("DELETE", "/v1/admin/invites/"+revoked.ID, adminTok, nil).Expect(t, 404, chusme.CodeNotFound)
	a.do("DELETE", "/v1/admin/invites/"+used.ID, adminTok, nil).Expect(t, 409, chusme.CodeInviteUsed)
	a.do("DELETE", "/v1/admin/invites/nope", adminTok, nil).Expect(t, 404, chusme.CodeNotFound)
	a.ok(200, "GET", "/v1/admin/invites", adminTok, nil, &page)
	before := ids(paged)
	if got, want := ids(page.Invites), slices.DeleteFunc(before, func(id string) bool { return id == revoked.ID }); !slices.Equal(got, want) {
		t.Fatalf("after the revocation the list holds %v, want %v", got, want)
	}

	userTok := a.login(userKey).AccessToken
	a.do("GET", "/v1/admin/invites", userTok, nil).Expect(t, 403, chusme.CodeForbidden)
	a.do("DELETE", "/v1/admin/invites/"+outstanding.ID, userTok, nil).Expect(t, 403, chusme.CodeForbidden)
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=nope", "cursor=1." + used.ID + "0", "cursor=-5." + used.ID} {
		a.do("GET", "/v1/admin/invites?"+q, adminTok, nil).Expect(t, 400, chusme.CodeInvalidRequest)
	}
}

// ids returns the invites' ids.
func ids(invs []chusme.AdminInvite) []string {
	out := []string{}
	for _, inv := range invs {
		out = append(out, inv.ID)
	}
	return out
}
