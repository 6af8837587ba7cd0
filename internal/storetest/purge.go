package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

func init() {
	tests = append(tests, []storeCase{
		{"PurgeExpired/ended_sessions_by_each_cutoff", testPurgeSessions},
		{"PurgeExpired/closed_ceremonies_past_retention", testPurgeCeremonies},
		{"PurgeExpired/more_than_a_batch", testPurgeBatches},
	}...)
}

// mustPurge runs PurgeExpired and fails unless it deleted want records.
func mustPurge(t *testing.T, s chusme.Store, p chusme.Purge, want int64) {
	t.Helper()
	n, err := s.PurgeExpired(ctx(t), p)
	wantCode(t, "PurgeExpired", err, "")
	if n != want {
		t.Fatalf("PurgeExpired deleted %d records, want %d", n, want)
	}
}

func testPurgeSessions(t *testing.T, s chusme.Store) {
	now := base.Add(time.Hour)
	for _, id := range []string{"idle", "revoked", "revoked-recently", "live"} {
		ns := newSession(id, "fp")
		ns.Session.LastUsedAt = now.Add(-time.Minute)
		switch id {
		case "idle":
			ns.Session.LastUsedAt = now.Add(-31 * time.Minute)
		case "revoked":
			ns.Session.RevokedAt, ns.Session.Reason = now.Add(-11*time.Minute), chusme.RevokedLogout
		case "revoked-recently":
			ns.Session.RevokedAt, ns.Session.Reason = now.Add(-9*time.Minute), chusme.RevokedLogout
		}
		wantCode(t, "CreateSession", s.CreateSession(ctx(t), ns), "")
	}
	// Zero cutoffs purge nothing of their kind (the logins' used
	// challenges have expired).
	mustPurge(t, s, chusme.Purge{Now: now}, 4)
	mustPurge(t, s, chusme.Purge{Now: now, IdleBefore: now.Add(-30 * time.Minute), RevokedBefore: now.Add(-10 * time.Minute)}, 2)
	for _, id := range []string{"idle", "revoked"} {
		_, err := s.GetSession(ctx(t), id)
		wantCode(t, "purged session "+id, err, chusme.CodeNotFound)
	}
	mustGetSession(t, s, "revoked-recently")
	mustGetSession(t, s, "live")
}

// testPurgeCeremonies: a closed ceremony goes once it changed last before
// the cutoff and its request's deadline has passed; an open one, a recent
// one and one whose signed request could still be replayed stay, and so do
// group keys.
func testPurgeCeremonies(t *testing.T, s chusme.Store) {
	now := ceremonyT0.Add(48 * time.Hour)
	cut := now.Add(-24 * time.Hour)
	for _, c := range []struct {
		id      string
		status  string
		updated time.Time
		request time.Time // the signed request's deadline; zero for none
	}{
		{"old-completed", chusme.CeremonyCompleted, ceremonyT0, ceremonyT0.Add(time.Hour)},
		{"old-failed", chusme.CeremonyFailed, ceremonyT0, time.Time{}},
		{"old-open", chusme.CeremonyOpen, ceremonyT0, time.Time{}},
		{"recent-cancelled", chusme.CeremonyCancelled, now.Add(-time.Hour), time.Time{}},
		{"old-request-live", chusme.CeremonyCompleted, ceremonyT0, now.Add(time.Hour)},
	} {
		cer := newCeremony(c.id, ceremonyT0)
		cer.Status, cer.UpdatedAt = c.status, c.updated
		if !c.request.IsZero() {
			cer.RequestDeadline, cer.RequestNonce, cer.RequestSignature = c.request.Unix(), []byte("nonce "+c.id), make([]byte, 64)
		}
		mustCreateCeremony(t, s, cer)
	}
	mustPurge(t, s, chusme.Purge{Now: now}, 0)
	mustPurge(t, s, chusme.Purge{Now: now, CeremoniesBefore: cut}, 2)
	for _, id := range []string{"old-completed", "old-failed"} {
		_, err := s.GetCeremony(ctx(t), id)
		wantCode(t, "purged ceremony "+id, err, chusme.CodeNotFound)
	}
	for _, id := range []string{"old-open", "recent-cancelled", "old-request-live"} {
		mustGetCeremony(t, s, id)
	}
	list, err := s.ListCeremonies(ctx(t), chusme.CeremonyFilter{Member: "alice"})
	if err != nil || len(list) != 3 {
		t.Fatalf("alice's ceremonies after the purge: %d, %v; want 3", len(list), err)
	}
}

// testPurgeBatches: a backlog larger than one batch is purged whole.
func testPurgeBatches(t *testing.T, s chusme.Store) {
	const n = 2500
	now := base.Add(time.Hour)
	for i := range n {
		c := newChallenge(fmt.Sprint("backlog ", i))
		c.ExpiresAt = now.Add(-time.Second)
		wantCode(t, "UseChallenge", s.UseChallenge(ctx(t), *c), "")
	}
	live := newChallenge("live")
	live.ExpiresAt = now.Add(time.Second)
	wantCode(t, "UseChallenge", s.UseChallenge(ctx(t), *live), "")
	mustPurge(t, s, chusme.Purge{Now: now}, n)
	wantCode(t, "UseChallenge of the live one", s.UseChallenge(ctx(t), *live), chusme.CodeConflict)
}
