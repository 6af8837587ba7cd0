package auth_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/testkit"
)

// admin returns the fixture administrator's principal.
func (f *fixture) admin(t *testing.T) auth.Principal {
	t.Helper()
	p, err := f.svc.Authenticate(context.Background(), f.login(t).AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An invite past its expiry is listed as expired until purged, and can
// still be revoked.
func TestListInvitesExpired(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, auth.Config{})
	p := f.admin(t)
	inv, err := f.svc.CreateInvite(ctx, p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.ListInvites(ctx, p, "", 10)
	if err != nil || len(page.Invites) != 1 || page.Invites[0].Status != chusme.InviteOutstanding {
		t.Fatalf("ListInvites = %+v, %v", page, err)
	}
	f.clock.Add(time.Hour)
	page, err = f.svc.ListInvites(ctx, p, "", 10)
	if err != nil || len(page.Invites) != 1 || page.Invites[0].ID != inv.ID || page.Invites[0].Status != chusme.InviteExpired {
		t.Fatalf("ListInvites an hour later = %+v, %v", page, err)
	}
	if err := f.svc.RevokeInvite(ctx, p, inv.ID); err != nil {
		t.Fatal(err)
	}
	page, err = f.svc.ListInvites(ctx, p, "", 10)
	if err != nil || len(page.Invites) != 0 {
		t.Fatalf("ListInvites after the revocation = %+v, %v", page, err)
	}
}

// The stats' window is whole hours ending with the current one: at 12:30
// two hours are 11:00 to 13:00, and a ceremony counts in the hour it
// ended (open: was created), not before the window.
func TestCeremonyStatsWindow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, auth.Config{})
	p := f.admin(t)
	noon := f.clock.Now()
	f.clock.Add(30 * time.Minute)
	for i, c := range []struct {
		status           string
		created, updated time.Duration
	}{
		{chusme.CeremonyFailed, -3 * time.Hour, 10 * time.Minute},
		{chusme.CeremonyOpen, -time.Second, 2 * time.Minute},
		{chusme.CeremonyCompleted, -2 * time.Hour, -61 * time.Minute},
	} {
		at := noon.Add(c.created)
		err := f.store.CreateCeremony(ctx, chusme.Ceremony{
			ID: string(rune('a' + i)), Kind: chusme.KindDKG, Creator: "x", Status: c.status, Round: 1, Threshold: 2,
			Participants: []string{"a", "b"}, Submitted: []string{}, Culprits: []string{}, Deadline: at.Add(time.Minute),
			Version: 1, CreatedAt: at, UpdatedAt: noon.Add(c.updated), RoundStarted: at,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := f.svc.CeremonyStats(ctx, p, 2)
	if err != nil {
		t.Fatal(err)
	}
	count := func(status string) []chusme.CeremonyCount {
		return []chusme.CeremonyCount{{Kind: chusme.KindDKG, Status: status, Count: 1}}
	}
	if !st.Since.Equal(noon.Add(-time.Hour)) || !st.Until.Equal(noon.Add(time.Hour)) || len(st.Buckets) != 2 ||
		!st.Buckets[1].Start.Equal(noon) || !slices.Equal(st.Buckets[0].Counts, count(chusme.CeremonyOpen)) ||
		!slices.Equal(st.Buckets[1].Counts, count(chusme.CeremonyFailed)) ||
		!slices.Equal(st.Totals, append(count(chusme.CeremonyFailed), count(chusme.CeremonyOpen)...)) {
		t.Fatalf("stats at 12:30 = %+v", st)
	}
	for _, h := range []int{0, -1, chusme.MaxStatsHours + 1} {
		_, err := f.svc.CeremonyStats(ctx, p, h)
		testkit.WantCode(t, err, chusme.CodeInvalidRequest)
	}
}
