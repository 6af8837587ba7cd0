package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// The cases of the administrator's view of ceremonies and invites join
// the suite at package initialisation.
func init() {
	tests = append(tests, []storeCase{
		{"CeremonyCounts/ended_by_last_change_open_by_creation", testCeremonyCounts},
		{"ListInvites/pages_newest_first_with_use", testListInvites},
		{"RevokeInvite/unused_deleted_used_kept", testRevokeInvite},
	}...)
}

// testCeremonyCounts: ceremonies of every outcome around a window of three
// hourly buckets fall in the bucket of their end (ended) or creation
// (open), and those outside it are not counted.
func testCeremonyCounts(t *testing.T, s chusme.Store) {
	t0, h := ceremonyT0, time.Hour
	for _, c := range []struct {
		id, kind, status, reason string
		created, updated         time.Duration
	}{
		{"done", chusme.KindSign, chusme.CeremonyCompleted, "", -2 * h, 30 * time.Minute},
		{"at-start", chusme.KindSign, chusme.CeremonyCompleted, "", -h, 0},
		{"late1", chusme.KindDKG, chusme.CeremonyFailed, chusme.FailDeadline, 10 * time.Minute, h + 5*time.Minute},
		{"late2", chusme.KindDKG, chusme.CeremonyFailed, chusme.FailDeadline, h + 10*time.Minute, h + 20*time.Minute},
		{"bad", chusme.KindDKG, chusme.CeremonyFailed, chusme.FailInvalidShare, h, h + 59*time.Minute},
		{"stop", chusme.KindSign, chusme.CeremonyCancelled, "cancelled", h, 3*h - time.Microsecond},
		{"open", chusme.KindDKG, chusme.CeremonyOpen, "", 2 * h, 5 * h},
		{"after", chusme.KindSign, chusme.CeremonyFailed, chusme.FailDeadline, 2 * h, 3 * h},
		{"open-before", chusme.KindDKG, chusme.CeremonyOpen, "", -time.Minute, 2 * h},
		{"ended-before", chusme.KindSign, chusme.CeremonyCompleted, "", -2 * h, -time.Microsecond},
	} {
		cer := newCeremony(c.id, t0.Add(c.created))
		cer.Kind, cer.Status, cer.FailureReason, cer.UpdatedAt = c.kind, c.status, c.reason, t0.Add(c.updated)
		mustCreateCeremony(t, s, cer)
	}
	got, err := s.CeremonyCounts(ctx(t), t0, time.Hour, 3)
	wantCode(t, "CeremonyCounts", err, "")
	slices.SortFunc(got, func(a, b chusme.BucketCount) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Reason, b.Reason))
	})
	row := func(b int, kind, status, reason string, n int) chusme.BucketCount {
		return chusme.BucketCount{Bucket: b, CeremonyCount: chusme.CeremonyCount{Kind: kind, Status: status, Reason: reason, Count: n}}
	}
	want := []chusme.BucketCount{
		row(0, chusme.KindSign, chusme.CeremonyCompleted, "", 2),
		row(1, chusme.KindDKG, chusme.CeremonyFailed, chusme.FailDeadline, 2),
		row(1, chusme.KindDKG, chusme.CeremonyFailed, chusme.FailInvalidShare, 1),
		row(2, chusme.KindDKG, chusme.CeremonyOpen, "", 1),
		row(2, chusme.KindSign, chusme.CeremonyCancelled, "cancelled", 1),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("CeremonyCounts:\n got %+v\nwant %+v", got, want)
	}
}

// testListInvites: five invites, two created at the same time, come back
// newest first (by id descending within a time) in pages of two, with who used one
// and when, and the token's hash as stored.
func testListInvites(t *testing.T, s chusme.Store) {
	var want []chusme.Invite
	for i, token := range []string{"i0", "i1", "i2", "i3", "i4"} {
		inv := newInvite(token)
		inv.CreatedAt = base.Add(time.Duration(min(i, 3)) * time.Minute)
		wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), inv), "")
		want = append(want, inv)
	}
	alice := newIdentity("alice")
	wantCode(t, "CreateIdentity", s.CreateIdentity(ctx(t), alice, inviteAdm("i1")), "")
	want[1].UsedBy, want[1].UsedAt = alice.Fingerprint, base
	slices.SortFunc(want, func(a, b chusme.Invite) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	var got []chusme.Invite
	var after chusme.InviteCursor
	for pages := 0; ; pages++ {
		page, err := s.ListInvites(ctx(t), after, 2)
		wantCode(t, "ListInvites", err, "")
		if len(page) > 2 || pages > len(want) {
			t.Fatalf("ListInvites(%+v, 2) returned %d invites", after, len(page))
		}
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		after = chusme.InviteCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	str := func(l []chusme.Invite) string {
		var out string
		for _, inv := range l {
			out += fmt.Sprintf("{%s %x %s %d %d %s %d} ", inv.ID, inv.Hash, inv.CreatedBy, inv.CreatedAt.UnixNano(),
				inv.ExpiresAt.UnixNano(), inv.UsedBy, inv.UsedAt.UnixNano())
		}
		return out
	}
	if g, w := str(got), str(want); g != w {
		t.Fatalf("ListInvites pages:\n got %s\nwant %s", g, w)
	}
}

// testRevokeInvite: a revoked invite registers no one and is gone; a used
// one can't be revoked and stays; an unknown one is not found.
func testRevokeInvite(t *testing.T, s chusme.Store) {
	unused, used := newInvite("unused"), newInvite("used")
	for _, inv := range []chusme.Invite{unused, used} {
		wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), inv), "")
	}
	wantCode(t, "CreateIdentity", s.CreateIdentity(ctx(t), newIdentity("alice"), inviteAdm("used")), "")
	wantCode(t, "RevokeInvite(unused)", s.RevokeInvite(ctx(t), unused.ID), "")
	wantCode(t, "RevokeInvite(unused) again", s.RevokeInvite(ctx(t), unused.ID), chusme.CodeNotFound)
	wantCode(t, "CreateIdentity with a revoked invite", s.CreateIdentity(ctx(t), newIdentity("bob"), inviteAdm("unused")), chusme.CodeNotFound)
	wantCode(t, "RevokeInvite(used)", s.RevokeInvite(ctx(t), used.ID), chusme.CodeInviteUsed)
	wantCode(t, "RevokeInvite(unknown)", s.RevokeInvite(ctx(t), "00"), chusme.CodeNotFound)
	left, err := s.ListInvites(ctx(t), chusme.InviteCursor{}, 10)
	wantCode(t, "ListInvites", err, "")
	if len(left) != 1 || left[0].ID != used.ID {
		t.Fatalf("invites left = %+v, want only the used one", left)
	}
}
