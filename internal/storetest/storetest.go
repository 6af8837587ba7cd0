// Package storetest is the conformance suite that every chusme.Store engine
// passes: it checks the behaviour documented on the interface, through the
// interface only, so that SQLite and PostgreSQL behave alike.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// Run runs the suite. open must return a new, empty store for each call,
// closed when the subtest ends (see Open). Times in the suite have
// microsecond precision, the finest that every engine keeps.
func Run(t *testing.T, open func(t *testing.T) chusme.Store) {
	for _, tc := range slices.Concat(tests, lifecycleTests, adminTests) {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// storeCase is one case of the suite: its name and its test of a new,
// empty store.
type storeCase struct {
	name string
	fn   func(t *testing.T, s chusme.Store)
}

// tests are the suite's cases, named "Method/outcome".
var tests = []storeCase{
	{"Ping/ok", testPing},

	{"SetupToken/pending_after_put", testSetupPending},
	{"SetupToken/redeemed_once", testSetupRedeemOnce},
	{"SetupToken/put_replaces_pending", testSetupReplace},
	{"SetupToken/wrong_hash_not_found", testSetupWrongHash},
	{"SetupToken/put_after_identity_conflicts", testSetupPutAfterIdentity},
	{"SetupToken/redeem_after_identity_not_found", testSetupRedeemAfterIdentity},

	{"CreateIdentity/round_trips_every_field", testIdentityRoundTrip},
	{"CreateIdentity/duplicate_fingerprint_conflicts", testIdentityDuplicate},
	{"CreateIdentity/conflict_leaves_invite_unused", testIdentityConflictKeepsInvite},
	{"CreateIdentity/invite_redeemed_once", testInviteOnce},
	{"CreateIdentity/invite_expired_not_found", testInviteExpired},
	{"CreateIdentity/invite_unknown_not_found", testInviteUnknown},
	{"CreateIdentity/invite_concurrent_one_wins", testInviteConcurrent},
	{"GetIdentity/unknown_not_found", testIdentityUnknown},
	{"CountIdentities/counts", testCountIdentities},
	{"BanIdentity/revokes_only_its_sessions", testBan},
	{"BanIdentity/without_reason_revokes_nothing", testBanNoRevoke},
	{"BanIdentity/unknown_not_found", testBanUnknown},

	{"CreateInvite/duplicate_hash_conflicts", testInviteDuplicate},

	{"UseChallenge/second_use_conflicts", testChallengeUse},
	{"UseChallenge/concurrent_one_wins", testChallengeConcurrent},

	{"CreateSession/round_trips_and_uses_challenge", testSessionRoundTrip},
	{"CreateSession/used_challenge_conflicts_writes_nothing", testSessionChallengeReused},
	{"CreateSession/without_challenge", testSessionNoChallenge},
	{"CreateSession/duplicate_id_conflicts_leaves_challenge_unused", testSessionDuplicate},
	{"CreateSession/concurrent_one_wins", testSessionConcurrent},
	{"GetSession/unknown_not_found", testSessionUnknown},
	{"RevokeSession/first_revocation_kept", testRevokeSession},
	{"RevokeSession/unknown_not_found", testRevokeUnknown},

	{"ExchangeRefreshToken/decide_sees_state", testExchangeState},
	{"ExchangeRefreshToken/update_applied", testExchangeUpdate},
	{"ExchangeRefreshToken/error_still_commits_update", testExchangeErrorCommits},
	{"ExchangeRefreshToken/error_with_nil_update_writes_nothing", testExchangeErrorEmpty},
	{"ExchangeRefreshToken/unknown_session_not_found_without_decide", testExchangeUnknown},
	{"ExchangeRefreshToken/concurrent_one_wins", testExchangeConcurrent},

	{"PurgeExpired/removes_expired_keeps_live", testPurge},
}

// Fixtures.

// base is the suite's reference time: a fixed instant, so that runs are
// comparable, in microseconds and a non-UTC zone, so that engines must
// compare instants rather than representations.
var base = time.Date(2026, 11, 22, 10, 30, 15, 123456000, time.FixedZone("CET", 3600))

func ctx(t *testing.T) context.Context { return t.Context() }

// hash returns the SHA-256 of s, standing in for a token hash.
func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// newIdentity returns an active user whose keys derive from name.
func newIdentity(name string) chusme.Identity {
	key := hash("key " + name)
	fp := sha256.Sum256(key)
	return chusme.Identity{
		Fingerprint: hex.EncodeToString(fp[:]),
		GenesisKey:  key,
		PublicKey:   key,
		Role:        chusme.RoleUser,
		Status:      chusme.StatusActive,
		CreatedAt:   base,
	}
}

var openAdm = chusme.Admission{Kind: chusme.AdmitOpen}

// mustCreateIdentity registers an identity named name by open registration.
func mustCreateIdentity(t *testing.T, s chusme.Store, name string) chusme.Identity {
	t.Helper()
	id := newIdentity(name)
	if err := s.CreateIdentity(ctx(t), id, openAdm); err != nil {
		t.Fatalf("CreateIdentity(%s): %v", name, err)
	}
	return id
}

// newInvite returns an invite for token, with an id of its hash, expiring
// one hour after base.
func newInvite(token string) chusme.Invite {
	return chusme.Invite{ID: hex.EncodeToString(hash(token)[:chusme.InviteIDSize]), Hash: hash(token), CreatedBy: "admin", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
}

// inviteAdm redeems invite token at base.
func inviteAdm(token string) chusme.Admission {
	return chusme.Admission{Kind: chusme.AdmitInvite, TokenHash: hash(token), Now: base}
}

func setupAdm(token string) chusme.Admission {
	return chusme.Admission{Kind: chusme.AdmitSetup, TokenHash: hash(token), Now: base}
}

// newChallenge returns the used-challenge record of a challenge called name.
func newChallenge(name string) *chusme.UsedChallenge {
	return &chusme.UsedChallenge{Nonce: hash("nonce " + name), ExpiresAt: base.Add(time.Minute)}
}

// newSession returns a login for fingerprint with session id, its refresh
// token 0 issued at base, and a challenge called "challenge <id>".
func newSession(id, fingerprint string) chusme.NewSession {
	return chusme.NewSession{
		Session: chusme.Session{
			ID:          id,
			Fingerprint: fingerprint,
			CreatedAt:   base,
			LastUsedAt:  base,
			ExpiresAt:   base.Add(24 * time.Hour),
			Refresh:     chusme.RefreshState{IssuedAt: base},
		},
		Challenge: newChallenge("challenge " + id),
	}
}

// mustLogin answers a challenge with a new session id for fingerprint.
func mustLogin(t *testing.T, s chusme.Store, id, fingerprint string) chusme.NewSession {
	t.Helper()
	ns := newSession(id, fingerprint)
	if err := s.CreateSession(ctx(t), ns); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ns
}

// Assertions.

// wantCode fails unless err carries code ("" for nil).
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := chusme.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func wantIdentity(t *testing.T, got, want chusme.Identity) {
	t.Helper()
	if got.Fingerprint != want.Fingerprint || !bytes.Equal(got.GenesisKey, want.GenesisKey) ||
		!bytes.Equal(got.PublicKey, want.PublicKey) || got.Role != want.Role || got.Status != want.Status ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.BannedAt.Equal(want.BannedAt) {
		t.Fatalf("identity:\n got %+v\nwant %+v", got, want)
	}
}

func wantSession(t *testing.T, got, want chusme.Session) {
	t.Helper()
	if got.ID != want.ID || got.Fingerprint != want.Fingerprint || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.LastUsedAt.Equal(want.LastUsedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.RevokedAt.Equal(want.RevokedAt) || got.Reason != want.Reason ||
		got.Refresh.Seq != want.Refresh.Seq || !got.Refresh.IssuedAt.Equal(want.Refresh.IssuedAt) ||
		got.Refresh.GraceUsed != want.Refresh.GraceUsed {
		t.Fatalf("session:\n got %+v\nwant %+v", got, want)
	}
}

func mustGetSession(t *testing.T, s chusme.Store, id string) chusme.Session {
	t.Helper()
	got, err := s.GetSession(ctx(t), id)
	if err != nil {
		t.Fatalf("GetSession(%s): %v", id, err)
	}
	return got
}

// Ping.

func testPing(t *testing.T, s chusme.Store) {
	wantCode(t, "Ping", s.Ping(ctx(t)), "")
}

// Setup token.

func testSetupPending(t *testing.T, s chusme.Store) {
	pending, err := s.SetupPending(ctx(t))
	if err != nil || pending {
		t.Fatalf("SetupPending on an empty store = %v, %v; want false", pending, err)
	}
	wantCode(t, "PutSetupToken", s.PutSetupToken(ctx(t), hash("setup"), base), "")
	pending, err = s.SetupPending(ctx(t))
	if err != nil || !pending {
		t.Fatalf("SetupPending after put = %v, %v; want true", pending, err)
	}
}

func testSetupRedeemOnce(t *testing.T, s chusme.Store) {
	wantCode(t, "PutSetupToken", s.PutSetupToken(ctx(t), hash("setup"), base), "")
	admin := newIdentity("admin")
	admin.Role = chusme.RoleAdmin
	wantCode(t, "first redemption", s.CreateIdentity(ctx(t), admin, setupAdm("setup")), "")
	wantCode(t, "second redemption", s.CreateIdentity(ctx(t), newIdentity("other"), setupAdm("setup")), chusme.CodeNotFound)
	if pending, err := s.SetupPending(ctx(t)); err != nil || pending {
		t.Fatalf("SetupPending after redemption = %v, %v; want false", pending, err)
	}
	got, err := s.GetIdentity(ctx(t), admin.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	wantIdentity(t, got, admin)
	if n, err := s.CountIdentities(ctx(t)); err != nil || n != 1 {
		t.Fatalf("CountIdentities = %d, %v; want 1", n, err)
	}
}

func testSetupReplace(t *testing.T, s chusme.Store) {
	wantCode(t, "PutSetupToken 1", s.PutSetupToken(ctx(t), hash("old"), base), "")
	wantCode(t, "PutSetupToken 2", s.PutSetupToken(ctx(t), hash("new"), base.Add(time.Second)), "")
	wantCode(t, "redeem replaced token", s.CreateIdentity(ctx(t), newIdentity("a"), setupAdm("old")), chusme.CodeNotFound)
	wantCode(t, "redeem new token", s.CreateIdentity(ctx(t), newIdentity("a"), setupAdm("new")), "")
}

func testSetupWrongHash(t *testing.T, s chusme.Store) {
	wantCode(t, "redeem without a token", s.CreateIdentity(ctx(t), newIdentity("a"), setupAdm("setup")), chusme.CodeNotFound)
	wantCode(t, "PutSetupToken", s.PutSetupToken(ctx(t), hash("setup"), base), "")
	wantCode(t, "redeem wrong token", s.CreateIdentity(ctx(t), newIdentity("a"), setupAdm("guess")), chusme.CodeNotFound)
	if n, err := s.CountIdentities(ctx(t)); err != nil || n != 0 {
		t.Fatalf("CountIdentities = %d, %v; want 0", n, err)
	}
	if pending, err := s.SetupPending(ctx(t)); err != nil || !pending {
		t.Fatalf("SetupPending after a wrong guess = %v, %v; want true", pending, err)
	}
}

func testSetupPutAfterIdentity(t *testing.T, s chusme.Store) {
	mustCreateIdentity(t, s, "a")
	wantCode(t, "PutSetupToken", s.PutSetupToken(ctx(t), hash("setup"), base), chusme.CodeConflict)
	if pending, err := s.SetupPending(ctx(t)); err != nil || pending {
		t.Fatalf("SetupPending = %v, %v; want false", pending, err)
	}
}

func testSetupRedeemAfterIdentity(t *testing.T, s chusme.Store) {
	wantCode(t, "PutSetupToken", s.PutSetupToken(ctx(t), hash("setup"), base), "")
	mustCreateIdentity(t, s, "a")
	wantCode(t, "redeem", s.CreateIdentity(ctx(t), newIdentity("b"), setupAdm("setup")), chusme.CodeNotFound)
	if n, err := s.CountIdentities(ctx(t)); err != nil || n != 1 {
		t.Fatalf("CountIdentities = %d, %v; want 1", n, err)
	}
}

// Identities and invites.

func testIdentityRoundTrip(t *testing.T, s chusme.Store) {
	id := newIdentity("a")
	id.PublicKey = hash("rotated key")
	id.Role = chusme.RoleAdmin
	id.Status = chusme.StatusBanned
	id.BannedAt = base.Add(time.Hour + time.Microsecond)
	wantCode(t, "CreateIdentity", s.CreateIdentity(ctx(t), id, openAdm), "")
	got, err := s.GetIdentity(ctx(t), id.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	wantIdentity(t, got, id)

	plain := newIdentity("b")
	wantCode(t, "CreateIdentity", s.CreateIdentity(ctx(t), plain, openAdm), "")
	got, err = s.GetIdentity(ctx(t), plain.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	wantIdentity(t, got, plain)
	if !got.BannedAt.IsZero() {
		t.Fatalf("BannedAt = %v, want the zero time", got.BannedAt)
	}
}

func testIdentityDuplicate(t *testing.T, s chusme.Store) {
	id := mustCreateIdentity(t, s, "a")
	dup := id
	dup.Role = chusme.RoleAdmin
	wantCode(t, "second CreateIdentity", s.CreateIdentity(ctx(t), dup, openAdm), chusme.CodeConflict)
	got, err := s.GetIdentity(ctx(t), id.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	wantIdentity(t, got, id)
}

func testIdentityConflictKeepsInvite(t *testing.T, s chusme.Store) {
	a := mustCreateIdentity(t, s, "a")
	wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), newInvite("inv")), "")
	wantCode(t, "duplicate with invite", s.CreateIdentity(ctx(t), a, inviteAdm("inv")), chusme.CodeConflict)
	wantCode(t, "invite after the conflict", s.CreateIdentity(ctx(t), newIdentity("b"), inviteAdm("inv")), "")
}

func testInviteOnce(t *testing.T, s chusme.Store) {
	wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), newInvite("inv")), "")
	wantCode(t, "first use", s.CreateIdentity(ctx(t), newIdentity("a"), inviteAdm("inv")), "")
	wantCode(t, "second use", s.CreateIdentity(ctx(t), newIdentity("b"), inviteAdm("inv")), chusme.CodeNotFound)
	if _, err := s.GetIdentity(ctx(t), newIdentity("b").Fingerprint); chusme.ErrorCode(err) != chusme.CodeNotFound {
		t.Fatalf("identity of the refused registration: %v, want CodeNotFound", err)
	}
}

func testInviteExpired(t *testing.T, s chusme.Store) {
	inv := newInvite("inv")
	wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), inv), "")
	adm := inviteAdm("inv")
	adm.Now = inv.ExpiresAt // an invite must expire after Now
	wantCode(t, "at expiry", s.CreateIdentity(ctx(t), newIdentity("a"), adm), chusme.CodeNotFound)
	adm.Now = inv.ExpiresAt.Add(time.Second)
	wantCode(t, "after expiry", s.CreateIdentity(ctx(t), newIdentity("a"), adm), chusme.CodeNotFound)
	adm.Now = inv.ExpiresAt.Add(-time.Microsecond)
	wantCode(t, "just before expiry", s.CreateIdentity(ctx(t), newIdentity("a"), adm), "")
}

func testInviteUnknown(t *testing.T, s chusme.Store) {
	wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), newInvite("inv")), "")
	wantCode(t, "unknown invite", s.CreateIdentity(ctx(t), newIdentity("a"), inviteAdm("other")), chusme.CodeNotFound)
	if n, err := s.CountIdentities(ctx(t)); err != nil || n != 0 {
		t.Fatalf("CountIdentities = %d, %v; want 0", n, err)
	}
}

func testInviteConcurrent(t *testing.T, s chusme.Store) {
	wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), newInvite("inv")), "")
	errs := concurrently(2, func(i int) error {
		return s.CreateIdentity(ctx(t), newIdentity(fmt.Sprint("racer ", i)), inviteAdm("inv"))
	})
	wantOneWinner(t, errs, chusme.CodeNotFound)
	if n, err := s.CountIdentities(ctx(t)); err != nil || n != 1 {
		t.Fatalf("CountIdentities = %d, %v; want 1", n, err)
	}
}

func testInviteDuplicate(t *testing.T, s chusme.Store) {
	wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), newInvite("inv")), "")
	wantCode(t, "again", s.CreateInvite(ctx(t), newInvite("inv")), chusme.CodeConflict)
}

func testIdentityUnknown(t *testing.T, s chusme.Store) {
	_, err := s.GetIdentity(ctx(t), newIdentity("nobody").Fingerprint)
	wantCode(t, "GetIdentity", err, chusme.CodeNotFound)
}

func testCountIdentities(t *testing.T, s chusme.Store) {
	for i := range 3 {
		if n, err := s.CountIdentities(ctx(t)); err != nil || n != i {
			t.Fatalf("CountIdentities = %d, %v; want %d", n, err, i)
		}
		mustCreateIdentity(t, s, fmt.Sprint(i))
	}
}

func testBan(t *testing.T, s chusme.Store) {
	a := mustCreateIdentity(t, s, "a")
	b := mustCreateIdentity(t, s, "b")
	a1 := mustLogin(t, s, "a1", a.Fingerprint).Session
	a2 := mustLogin(t, s, "a2", a.Fingerprint).Session
	a3 := mustLogin(t, s, "a3", a.Fingerprint).Session
	b1 := mustLogin(t, s, "b1", b.Fingerprint).Session
	logout := base.Add(time.Minute)
	wantCode(t, "RevokeSession", s.RevokeSession(ctx(t), a3.ID, logout, chusme.RevokedLogout), "")

	at := base.Add(time.Hour)
	revoked, err := s.BanIdentity(ctx(t), a.Fingerprint, at, chusme.RevokedBan)
	wantCode(t, "BanIdentity", err, "")
	wantRevoked(t, "BanIdentity", revoked, a1.ID, a2.ID)

	got, err := s.GetIdentity(ctx(t), a.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	a.Status, a.BannedAt = chusme.StatusBanned, at
	wantIdentity(t, got, a)

	// Banned again: the first ban time stays, nothing is left to revoke.
	revoked, err = s.BanIdentity(ctx(t), a.Fingerprint, at.Add(time.Hour), chusme.RevokedBan)
	wantCode(t, "BanIdentity again", err, "")
	wantRevoked(t, "BanIdentity again", revoked)
	got, err = s.GetIdentity(ctx(t), a.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	wantIdentity(t, got, a)
	for _, sess := range []chusme.Session{a1, a2} {
		sess.RevokedAt, sess.Reason = at, chusme.RevokedBan
		wantSession(t, mustGetSession(t, s, sess.ID), sess)
	}
	a3.RevokedAt, a3.Reason = logout, chusme.RevokedLogout
	wantSession(t, mustGetSession(t, s, a3.ID), a3)
	wantSession(t, mustGetSession(t, s, b1.ID), b1)
	got, err = s.GetIdentity(ctx(t), b.Fingerprint)
	wantCode(t, "GetIdentity", err, "")
	wantIdentity(t, got, b)
}

// testBanNoRevoke: a ban with no reason bans but leaves the sessions live.
func testBanNoRevoke(t *testing.T, s chusme.Store) {
	a := mustCreateIdentity(t, s, "a")
	a1 := mustLogin(t, s, "a1", a.Fingerprint).Session
	revoked, err := s.BanIdentity(ctx(t), a.Fingerprint, base, "")
	wantCode(t, "BanIdentity", err, "")
	wantRevoked(t, "BanIdentity", revoked)
	if got, _ := s.GetIdentity(ctx(t), a.Fingerprint); got.Status != chusme.StatusBanned {
		t.Fatalf("status after BanIdentity = %q", got.Status)
	}
	wantSession(t, mustGetSession(t, s, a1.ID), a1)
}

func testBanUnknown(t *testing.T, s chusme.Store) {
	_, err := s.BanIdentity(ctx(t), newIdentity("nobody").Fingerprint, base, chusme.RevokedBan)
	wantCode(t, "BanIdentity", err, chusme.CodeNotFound)
}

// wantRevoked fails unless revoked holds exactly the session ids want, in
// any order.
func wantRevoked(t *testing.T, what string, revoked []string, want ...string) {
	t.Helper()
	got := slices.Sorted(slices.Values(revoked))
	if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("%s revoked sessions %q, want %q", what, got, want)
	}
}

// Challenges.

func testChallengeUse(t *testing.T, s chusme.Store) {
	c := newChallenge("c1")
	wantCode(t, "UseChallenge", s.UseChallenge(ctx(t), *c), "")
	wantCode(t, "UseChallenge again", s.UseChallenge(ctx(t), *c), chusme.CodeConflict)
	wantCode(t, "UseChallenge of another", s.UseChallenge(ctx(t), *newChallenge("c2")), "")
	ns := newSession("s1", "fp")
	ns.Challenge = c
	wantCode(t, "CreateSession with the used challenge", s.CreateSession(ctx(t), ns), chusme.CodeConflict)
}

func testChallengeConcurrent(t *testing.T, s chusme.Store) {
	c := newChallenge("c")
	errs := concurrently(8, func(int) error { return s.UseChallenge(ctx(t), *c) })
	wantOneWinner(t, errs, chusme.CodeConflict)
}

// Sessions.

func testSessionRoundTrip(t *testing.T, s chusme.Store) {
	ns := newSession("s1", "fp")
	ns.Session.LastUsedAt = base.Add(time.Second)
	ns.Session.RevokedAt = base.Add(2 * time.Second)
	ns.Session.Reason = "test"
	ns.Session.Refresh = chusme.RefreshState{Seq: 7, IssuedAt: base.Add(3 * time.Second), GraceUsed: true}
	wantCode(t, "CreateSession", s.CreateSession(ctx(t), ns), "")
	wantSession(t, mustGetSession(t, s, "s1"), ns.Session)
	wantCode(t, "UseChallenge after login", s.UseChallenge(ctx(t), *ns.Challenge), chusme.CodeConflict)
	// The exchange's state is the same session.
	st := exchange(t, s, "s1", keep)
	wantSession(t, st, ns.Session)

	// A live session round-trips its zero times too.
	live := mustLogin(t, s, "s2", "fp")
	got := mustGetSession(t, s, "s2")
	wantSession(t, got, live.Session)
	if got.Revoked() {
		t.Fatal("new session reports Revoked")
	}
}

func testSessionChallengeReused(t *testing.T, s chusme.Store) {
	first := mustLogin(t, s, "s1", "fp")
	second := newSession("s2", "fp")
	second.Challenge = first.Challenge
	wantCode(t, "CreateSession with a used challenge", s.CreateSession(ctx(t), second), chusme.CodeConflict)
	_, err := s.GetSession(ctx(t), "s2")
	wantCode(t, "GetSession of the refused login", err, chusme.CodeNotFound)
	err = s.ExchangeRefreshToken(ctx(t), "s2", func(chusme.Session) (*chusme.Session, error) {
		t.Error("decide called for the refused login's session")
		return nil, nil
	})
	wantCode(t, "exchange in the refused login's session", err, chusme.CodeNotFound)
}

func testSessionNoChallenge(t *testing.T, s chusme.Store) {
	ns := newSession("s1", "fp")
	c := ns.Challenge
	wantCode(t, "UseChallenge", s.UseChallenge(ctx(t), *c), "")
	ns.Challenge = nil
	wantCode(t, "CreateSession without a challenge", s.CreateSession(ctx(t), ns), "")
	wantSession(t, mustGetSession(t, s, "s1"), ns.Session)
}

func testSessionDuplicate(t *testing.T, s chusme.Store) {
	first := mustLogin(t, s, "s1", "fp")
	dup := newSession("s1", "fp")
	dup.Challenge = newChallenge("c2")
	dup.Session.Refresh.Seq = 3
	wantCode(t, "CreateSession with a taken id", s.CreateSession(ctx(t), dup), chusme.CodeConflict)
	wantCode(t, "UseChallenge of the refused login's challenge", s.UseChallenge(ctx(t), *dup.Challenge), "")
	wantSession(t, mustGetSession(t, s, "s1"), first.Session)
}

func testSessionConcurrent(t *testing.T, s chusme.Store) {
	const n = 8
	errs := concurrently(n, func(i int) error {
		ns := newSession(fmt.Sprint("s", i), "fp")
		ns.Challenge = newChallenge("c")
		return s.CreateSession(ctx(t), ns)
	})
	wantOneWinner(t, errs, chusme.CodeConflict)
	for i, err := range errs {
		_, gerr := s.GetSession(ctx(t), fmt.Sprint("s", i))
		if (err == nil) != (gerr == nil) {
			t.Errorf("session %d: CreateSession %v but GetSession %v", i, err, gerr)
		}
	}
}

func testSessionUnknown(t *testing.T, s chusme.Store) {
	_, err := s.GetSession(ctx(t), "nope")
	wantCode(t, "GetSession", err, chusme.CodeNotFound)
}

func testRevokeSession(t *testing.T, s chusme.Store) {
	sess := mustLogin(t, s, "s1", "fp").Session
	other := mustLogin(t, s, "s2", "fp").Session
	at := base.Add(time.Minute)
	wantCode(t, "RevokeSession", s.RevokeSession(ctx(t), "s1", at, chusme.RevokedLogout), "")
	wantCode(t, "RevokeSession again", s.RevokeSession(ctx(t), "s1", at.Add(time.Minute), chusme.RevokedReuse), "")
	sess.RevokedAt, sess.Reason = at, chusme.RevokedLogout
	got := mustGetSession(t, s, "s1")
	wantSession(t, got, sess)
	if !got.Revoked() {
		t.Fatal("revoked session does not report Revoked")
	}
	wantSession(t, mustGetSession(t, s, "s2"), other)
}

func testRevokeUnknown(t *testing.T, s chusme.Store) {
	wantCode(t, "RevokeSession", s.RevokeSession(ctx(t), "nope", base, chusme.RevokedLogout), chusme.CodeNotFound)
}

// Refresh-token exchange.

// rotate returns the update of a plain refresh of sess at time at: its last
// use, and its next token issued.
func rotate(sess chusme.Session, at time.Time) *chusme.Session {
	sess.LastUsedAt = at
	sess.Refresh = chusme.RefreshState{Seq: sess.Refresh.Seq + 1, IssuedAt: at}
	return &sess
}

// exchange runs ExchangeRefreshToken on session id and returns the session
// decide saw.
func exchange(t *testing.T, s chusme.Store, id string, decide func(chusme.Session) (*chusme.Session, error)) chusme.Session {
	t.Helper()
	var seen chusme.Session
	err := s.ExchangeRefreshToken(ctx(t), id, func(st chusme.Session) (*chusme.Session, error) {
		seen = st
		return decide(st)
	})
	wantCode(t, "ExchangeRefreshToken", err, "")
	return seen
}

// keep is a decide that writes nothing.
func keep(chusme.Session) (*chusme.Session, error) { return nil, nil }

func testExchangeState(t *testing.T, s chusme.Store) {
	ns := mustLogin(t, s, "s1", "fp")
	other := mustLogin(t, s, "s2", "fp") // another session, which must not change
	at := base.Add(time.Minute)

	st := exchange(t, s, "s1", func(st chusme.Session) (*chusme.Session, error) { return rotate(st, at), nil })
	wantSession(t, st, ns.Session)
	// The next exchange sees the first one's write.
	st = exchange(t, s, "s1", keep)
	wantSession(t, st, *rotate(ns.Session, at))
	wantSession(t, mustGetSession(t, s, "s2"), other.Session)
}

func testExchangeUpdate(t *testing.T, s chusme.Store) {
	ns := mustLogin(t, s, "s1", "fp")
	t1, t2 := base.Add(time.Minute), base.Add(2*time.Minute)
	exchange(t, s, "s1", func(st chusme.Session) (*chusme.Session, error) { return rotate(st, t1), nil })
	// A grace re-presentation that also extends the session.
	exchange(t, s, "s1", func(st chusme.Session) (*chusme.Session, error) {
		st.ExpiresAt = st.ExpiresAt.Add(time.Hour)
		st.LastUsedAt = t2
		st.Refresh.GraceUsed = true
		return &st, nil
	})
	want := ns.Session
	want.LastUsedAt, want.ExpiresAt = t2, ns.Session.ExpiresAt.Add(time.Hour)
	want.Refresh = chusme.RefreshState{Seq: 1, IssuedAt: t1, GraceUsed: true}
	wantSession(t, mustGetSession(t, s, "s1"), want)
}

func testExchangeErrorCommits(t *testing.T, s chusme.Store) {
	ns := mustLogin(t, s, "s1", "fp")
	refused := errors.New("reuse detected")
	at := base.Add(time.Minute)
	err := s.ExchangeRefreshToken(ctx(t), "s1", func(st chusme.Session) (*chusme.Session, error) {
		st.RevokedAt, st.Reason = at, chusme.RevokedReuse
		return &st, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("ExchangeRefreshToken = %v, want decide's error", err)
	}
	want := ns.Session
	want.RevokedAt, want.Reason = at, chusme.RevokedReuse
	wantSession(t, mustGetSession(t, s, "s1"), want)
}

func testExchangeErrorEmpty(t *testing.T, s chusme.Store) {
	ns := mustLogin(t, s, "s1", "fp")
	refused := chusme.Errorf(chusme.CodeRefreshInvalid, "expired")
	err := s.ExchangeRefreshToken(ctx(t), "s1", func(chusme.Session) (*chusme.Session, error) {
		return nil, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("ExchangeRefreshToken = %v, want decide's error", err)
	}
	wantCode(t, "ExchangeRefreshToken", err, chusme.CodeRefreshInvalid)
	wantSession(t, mustGetSession(t, s, "s1"), ns.Session)
}

func testExchangeUnknown(t *testing.T, s chusme.Store) {
	mustLogin(t, s, "s1", "fp")
	err := s.ExchangeRefreshToken(ctx(t), "unknown", func(chusme.Session) (*chusme.Session, error) {
		t.Error("decide called for an unknown session")
		return nil, nil
	})
	wantCode(t, "ExchangeRefreshToken", err, chusme.CodeNotFound)
}

func testExchangeConcurrent(t *testing.T, s chusme.Store) {
	ns := mustLogin(t, s, "s1", "fp")
	lost := errors.New("already used")
	const n = 50
	errs := concurrently(n, func(i int) error {
		return s.ExchangeRefreshToken(ctx(t), "s1", func(st chusme.Session) (*chusme.Session, error) {
			if st.Refresh.Seq != 0 {
				return nil, lost
			}
			return rotate(st, base.Add(time.Duration(i+1)*time.Second)), nil
		})
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("exchanges %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, lost):
			t.Fatalf("exchange %d: %v, want success or decide's error", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no exchange succeeded")
	}
	wantSession(t, mustGetSession(t, s, "s1"), *rotate(ns.Session, base.Add(time.Duration(winner+1)*time.Second)))
}

// Purge.

func testPurge(t *testing.T, s chusme.Store) {
	now := base.Add(time.Hour)
	past, future := now.Add(-time.Second), now.Add(time.Second)

	oldC, liveC := newChallenge("old"), newChallenge("live")
	oldC.ExpiresAt, liveC.ExpiresAt = past, future
	for _, c := range []*chusme.UsedChallenge{oldC, liveC} {
		wantCode(t, "UseChallenge", s.UseChallenge(ctx(t), *c), "")
	}
	oldI, liveI := newInvite("old"), newInvite("live")
	oldI.ExpiresAt, liveI.ExpiresAt = past, future
	for _, inv := range []chusme.Invite{oldI, liveI} {
		wantCode(t, "CreateInvite", s.CreateInvite(ctx(t), inv), "")
	}
	sessions := map[string]time.Time{"old": past, "live": future}
	for id, exp := range sessions {
		ns := newSession(id, "fp")
		ns.Session.ExpiresAt = exp
		wantCode(t, "CreateSession", s.CreateSession(ctx(t), ns), "")
	}

	n, err := s.PurgeExpired(ctx(t), chusme.Purge{Now: now})
	wantCode(t, "PurgeExpired", err, "")
	if n != 5 { // with the logins' two used challenges
		t.Fatalf("PurgeExpired deleted %d records, want 5", n)
	}

	// A purged record is gone (its challenge has expired); a live one stays.
	wantCode(t, "UseChallenge of the purged", s.UseChallenge(ctx(t), *oldC), "")
	wantCode(t, "UseChallenge of the live", s.UseChallenge(ctx(t), *liveC), chusme.CodeConflict)

	// A purged invite's hash is free again; a live one is still redeemable.
	wantCode(t, "re-create purged invite", s.CreateInvite(ctx(t), oldI), "")
	adm := inviteAdm("live")
	adm.Now = now
	wantCode(t, "redeem live invite", s.CreateIdentity(ctx(t), newIdentity("a"), adm), "")

	_, err = s.GetSession(ctx(t), "old")
	wantCode(t, "expired session", err, chusme.CodeNotFound)
	mustGetSession(t, s, "live")
}

// Concurrency helpers.

// concurrently runs fn(0) … fn(n-1) in n goroutines released at once and
// returns their errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// wantOneWinner fails unless exactly one error is nil and all others carry
// loserCode.
func wantOneWinner(t *testing.T, errs []error, loserCode string) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch chusme.ErrorCode(err) {
		case "":
			wins++
		case loserCode:
		default:
			t.Errorf("caller %d: %v, want success or code %q", i, err, loserCode)
		}
	}
	if wins != 1 {
		t.Fatalf("%d callers succeeded, want exactly 1", wins)
	}
}
