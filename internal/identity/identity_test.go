package identity_test

import (
	"bytes"
	"crypto/ed25519"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/identity"
	"github.com/chusme/chusme/internal/sqlite"
	"github.com/chusme/chusme/internal/storetest"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/keys"
)

const issuer = "https://chusme.test"

type fixture struct {
	t     *testing.T
	clk   *testkit.Clock
	store *sqlite.DB
	svc   *identity.Service
	fp    string
}

// newFixture registers genesis on a new SQLite store under a fake clock.
func newFixture(t *testing.T, genesis ed25519.PrivateKey) *fixture {
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	db := storetest.Open(t, sqlite.Open, filepath.Join(t.TempDir(), "chusme.db"))
	id := chusme.Identity{
		Fingerprint: testkit.Fingerprint(genesis), GenesisKey: testkit.Public(genesis), PublicKey: testkit.Public(genesis),
		Role: chusme.RoleUser, Status: chusme.StatusActive, CreatedAt: clk.Now(),
	}
	if err := db.CreateIdentity(t.Context(), id, chusme.Admission{Kind: chusme.AdmitOpen}); err != nil {
		t.Fatal(err)
	}
	svc := identity.New(db, issuer, clk.Now, slog.New(slog.DiscardHandler))
	return &fixture{t: t, clk: clk, store: db, svc: svc, fp: id.Fingerprint}
}

func (f *fixture) chain() []chusme.ChainEntry {
	f.t.Helper()
	c, err := f.svc.Chain(f.t.Context(), f.fp)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Entries
}

func (f *fixture) last() chusme.ChainEntry { es := f.chain(); return es[len(es)-1] }

// rotation builds a statement from the chain's head, signed by old and new.
func (f *fixture) rotation(old, next ed25519.PrivateKey) chusme.RotationRequest {
	h := f.last()
	r := chusme.RotationRequest{Seq: h.Seq + 1, Prev: h.Hash, OldKey: testkit.Public(old), NewKey: testkit.Public(next), Time: f.clk.Now().Unix()}
	f.sign(&r, old, next)
	return r
}

func (f *fixture) sign(r *chusme.RotationRequest, old, next ed25519.PrivateKey) {
	msg := chusme.RotationMessage(issuer, f.fp, r.Seq, r.Prev, r.OldKey, r.NewKey, r.Time)
	r.OldSignature, r.NewSignature = ed25519.Sign(old, msg), ed25519.Sign(next, msg)
}

// cancel builds a cancellation of the head rotation, signed by restored.
func (f *fixture) cancel(restored ed25519.PrivateKey) (uint64, chusme.CancelRequest) {
	h := f.last()
	c := chusme.CancelRequest{Seq: h.Seq + 1, Prev: h.Hash, Time: f.clk.Now().Unix()}
	c.Signature = ed25519.Sign(restored, chusme.CancelMessage(issuer, f.fp, c.Seq, h.Seq, c.Prev, h.NewKey, h.OldKey, c.Time))
	return h.Seq, c
}

func (f *fixture) currentKey() []byte {
	id, err := f.store.GetIdentity(f.t.Context(), f.fp)
	if err != nil {
		f.t.Fatal(err)
	}
	return id.PublicKey
}

// login opens a session for the identity straight in the store.
func (f *fixture) login(id string) {
	f.t.Helper()
	now := f.clk.Now()
	err := f.store.CreateSession(f.t.Context(), chusme.NewSession{
		Session: chusme.Session{ID: id, Fingerprint: f.fp, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) revoked(id string) bool { return f.reason(id) != "" }

// reason returns why session id was revoked ("" while it is live).
func (f *fixture) reason(id string) chusme.RevocationReason {
	s, err := f.store.GetSession(f.t.Context(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	if s.Revoked() != (s.Reason != "") {
		f.t.Fatalf("session %s: revoked %v with reason %q", id, s.Revoked(), s.Reason)
	}
	return s.Reason
}

// verify checks the chain offline and returns the current key.
func verify(t *testing.T, fp string, es []chusme.ChainEntry) ([]byte, error) {
	t.Helper()
	return chusme.VerifyChain(issuer, fp, es, keys.CheckPublicKey, keys.Verify)
}

func TestCancelWindowBoundary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"just_before_72h_cancel_works", chusme.RotationCancelWindow - time.Second, ""},
		{"at_72h_refused", chusme.RotationCancelWindow, chusme.CodeRotationFinal},
		{"just_after_72h_refused", chusme.RotationCancelWindow + time.Second, chusme.CodeRotationFinal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k0, k1 := testkit.NewKey(t), testkit.NewKey(t)
			f := newFixture(t, k0)
			if _, err := f.svc.Rotate(t.Context(), f.fp, f.rotation(k0, k1)); err != nil {
				t.Fatal(err)
			}
			f.login("s1")
			f.clk.Add(tc.after)
			seq, c := f.cancel(k0)
			_, err := f.svc.Cancel(t.Context(), f.fp, seq, c)
			testkit.WantCode(t, err, tc.want)
			want := testkit.Public(k1)
			if tc.want == "" {
				want = testkit.Public(k0)
			}
			if !bytes.Equal(f.currentKey(), want) {
				t.Fatal("wrong current key after the cancel attempt")
			}
			var reason chusme.RevocationReason // a refused cancel revokes nothing
			if tc.want == "" {
				reason = chusme.RevokedCancel
			}
			if got := f.reason("s1"); got != reason {
				t.Fatalf("session revoked with reason %q, want %q", got, reason)
			}
			cur, err := verify(t, f.fp, f.chain())
			if err != nil || !bytes.Equal(cur, want) {
				t.Fatalf("VerifyChain = %x, %v", cur, err)
			}
		})
	}
}

func TestRotationRules(t *testing.T) {
	k0, k1, k2, k3 := testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	f := newFixture(t, k0)
	ctx := t.Context()
	f.login("s0")

	// Refused statements change nothing.
	refused := func(r chusme.RotationRequest, code string) {
		t.Helper()
		before := f.chain()
		_, err := f.svc.Rotate(ctx, f.fp, r)
		testkit.WantCode(t, err, code)
		if len(f.chain()) != len(before) {
			t.Fatal("a refused rotation appended an entry")
		}
		if f.revoked("s0") {
			t.Fatal("a refused rotation revoked a session")
		}
	}
	onlyOld := f.rotation(k0, k1)
	onlyOld.NewSignature = ed25519.Sign(k3, chusme.RotationMessage(issuer, f.fp, onlyOld.Seq, onlyOld.Prev, onlyOld.OldKey, onlyOld.NewKey, onlyOld.Time))
	refused(onlyOld, chusme.CodeInvalidSignature)
	onlyNew := f.rotation(k0, k1)
	onlyNew.OldSignature = make([]byte, 64)
	refused(onlyNew, chusme.CodeInvalidSignature)
	wrongSeq := f.rotation(k0, k1)
	wrongSeq.Seq = 2
	f.sign(&wrongSeq, k0, k1)
	refused(wrongSeq, chusme.CodeChainConflict)
	wrongPrev := f.rotation(k0, k1)
	wrongPrev.Prev = bytes.Repeat([]byte{7}, 32)
	f.sign(&wrongPrev, k0, k1)
	refused(wrongPrev, chusme.CodeChainConflict)
	notCurrent := f.rotation(k2, k1) // signed by both, but k2 is not the current key
	refused(notCurrent, chusme.CodeChainConflict)
	stale := f.rotation(k0, k1)
	stale.Time -= int64(chusme.MaxStatementSkew/time.Second) + 1
	f.sign(&stale, k0, k1)
	refused(stale, chusme.CodeInvalidRequest)
	otherIssuer := f.rotation(k0, k1)
	msg := chusme.RotationMessage("https://elsewhere.test", f.fp, otherIssuer.Seq, otherIssuer.Prev, otherIssuer.OldKey, otherIssuer.NewKey, otherIssuer.Time)
	otherIssuer.OldSignature, otherIssuer.NewSignature = ed25519.Sign(k0, msg), ed25519.Sign(k1, msg)
	refused(otherIssuer, chusme.CodeInvalidSignature)
	smallOrder := f.rotation(k0, k1)
	smallOrder.NewKey = make([]byte, 32)
	smallOrder.NewKey[0] = 1 // the identity point
	refused(smallOrder, chusme.CodeInvalidPublicKey)

	// A good rotation applies at once and revokes sessions.
	r1 := f.rotation(k0, k1)
	if _, err := f.svc.Rotate(ctx, f.fp, r1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.currentKey(), testkit.Public(k1)) || f.reason("s0") != chusme.RevokedRotate {
		t.Fatal("the rotation did not take effect at once")
	}
	f.login("s1")
	// Replaying it is refused.
	_, err := f.svc.Rotate(ctx, f.fp, r1)
	testkit.WantCode(t, err, chusme.CodeChainConflict)

	// A second rotation while the first is cancellable is refused.
	f.clk.Add(time.Hour)
	second := f.rotation(k1, k2)
	refused2 := func() {
		t.Helper()
		_, err := f.svc.Rotate(ctx, f.fp, second)
		testkit.WantCode(t, err, chusme.CodeRotationPending)
		if f.revoked("s1") || !bytes.Equal(f.currentKey(), testkit.Public(k1)) {
			t.Fatal("a refused rotation changed something")
		}
	}
	refused2()
	// A cancellation signed by the new key (the thief's) is refused.
	seq, c := f.cancel(k1)
	_, err = f.svc.Cancel(ctx, f.fp, seq, c)
	testkit.WantCode(t, err, chusme.CodeInvalidSignature)
	_, err = f.svc.Cancel(ctx, f.fp, 5, c)
	testkit.WantCode(t, err, chusme.CodeNotFound)

	// Once final, a new rotation (signed by current and new key) works.
	f.clk.Add(chusme.RotationCancelWindow)
	if _, err := f.svc.Rotate(ctx, f.fp, f.rotation(k1, k2)); err != nil {
		t.Fatal(err)
	}
	// Cancelling the older, final rotation is refused: it is not last.
	seqOld, cOld := uint64(1), chusme.CancelRequest{Seq: 3, Prev: f.last().Hash, Time: f.clk.Now().Unix()}
	cOld.Signature = ed25519.Sign(k0, chusme.CancelMessage(issuer, f.fp, 3, 1, cOld.Prev, testkit.Public(k1), testkit.Public(k0), cOld.Time))
	_, err = f.svc.Cancel(ctx, f.fp, seqOld, cOld)
	testkit.WantCode(t, err, chusme.CodeChainConflict)

	// Cancel the latest rotation; a replayed cancellation is refused.
	seq, c = f.cancel(k1)
	if _, err := f.svc.Cancel(ctx, f.fp, seq, c); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Cancel(ctx, f.fp, seq, c)
	testkit.WantCode(t, err, chusme.CodeChainConflict)
	if !bytes.Equal(f.currentKey(), testkit.Public(k1)) || !f.revoked("s1") {
		t.Fatal("the cancellation did not restore the old key and revoke sessions")
	}
	// Right after a cancellation, a new rotation is allowed.
	if _, err := f.svc.Rotate(ctx, f.fp, f.rotation(k1, k3)); err != nil {
		t.Fatal(err)
	}

	es := f.chain()
	kinds := ""
	for _, e := range es {
		kinds += e.Kind[:1]
	}
	if kinds != "grrcr" {
		t.Fatalf("chain kinds %q, want grrcr", kinds)
	}
	cur, err := verify(t, f.fp, es)
	if err != nil || !bytes.Equal(cur, testkit.Public(k3)) {
		t.Fatalf("VerifyChain = %x, %v; want k3", cur, err)
	}
}

func TestVerifyChainRejectsTampering(t *testing.T) {
	k0, k1, k2 := testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	f := newFixture(t, k0)
	ctx := t.Context()
	if _, err := f.svc.Rotate(ctx, f.fp, f.rotation(k0, k1)); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Hour)
	seq, c := f.cancel(k0)
	if _, err := f.svc.Cancel(ctx, f.fp, seq, c); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(time.Hour)
	if _, err := f.svc.Rotate(ctx, f.fp, f.rotation(k0, k2)); err != nil {
		t.Fatal(err)
	}
	good := f.chain()
	if cur, err := verify(t, f.fp, good); err != nil || !bytes.Equal(cur, testkit.Public(k2)) {
		t.Fatalf("VerifyChain of the real chain = %x, %v", cur, err)
	}
	clone := func() []chusme.ChainEntry {
		out := make([]chusme.ChainEntry, len(good))
		for i, e := range good {
			e.Prev, e.NewKey, e.OldKey, e.Hash = bytes.Clone(e.Prev), bytes.Clone(e.NewKey), bytes.Clone(e.OldKey), bytes.Clone(e.Hash)
			e.Signature = bytes.Clone(e.Signature)
			out[i] = e
		}
		return out
	}
	cases := map[string]func() []chusme.ChainEntry{
		"empty":           func() []chusme.ChainEntry { return nil },
		"removed_cancel":  func() []chusme.ChainEntry { es := clone(); return append(es[:2], es[3:]...) },
		"removed_last":    func() []chusme.ChainEntry { return clone()[:3] }, // not detectable offline: shorter but valid
		"reordered":       func() []chusme.ChainEntry { es := clone(); es[1], es[2] = es[2], es[1]; return es },
		"altered_new_key": func() []chusme.ChainEntry { es := clone(); es[3].NewKey = testkit.Public(k1); return es },
		"altered_time":    func() []chusme.ChainEntry { es := clone(); es[1].Time++; return es },
		"altered_sig":     func() []chusme.ChainEntry { es := clone(); es[1].Signature[0] ^= 1; return es },
		"rehashed_forgery": func() []chusme.ChainEntry {
			es := clone()
			es[3].NewKey = testkit.Public(k1)
			es[3].Hash = chusme.EntryHash(issuer, f.fp, es[3])
			return es[:4]
		},
		"other_genesis": func() []chusme.ChainEntry { es := clone(); es[0].NewKey = testkit.Public(k1); return es },
		"renumbered":    func() []chusme.ChainEntry { es := clone(); es[2].Seq = 5; return es },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := verify(t, f.fp, mk())
			if name == "removed_last" {
				// Dropping the newest entries yields an older, valid
				// chain: freshness is the server's to give.
				if err != nil {
					t.Fatalf("a truncated chain is still a valid prefix: %v", err)
				}
				return
			}
			testkit.WantCode(t, err, chusme.CodeChainConflict)
		})
	}
	// Another issuer's view of the same chain does not verify.
	if _, err := chusme.VerifyChain("https://elsewhere.test", f.fp, good, keys.CheckPublicKey, keys.Verify); err == nil {
		t.Fatal("chain verified under another issuer")
	}
}

func TestBlobPreconditions(t *testing.T) {
	k0 := testkit.NewKey(t)
	f := newFixture(t, k0)
	ctx := t.Context()
	_, err := f.svc.Blob(ctx, f.fp)
	testkit.WantCode(t, err, chusme.CodeNotFound)
	_, err = f.svc.PutBlob(ctx, "someone", f.fp, []byte("x"), "", "*")
	testkit.WantCode(t, err, chusme.CodeForbidden)
	_, err = f.svc.PutBlob(ctx, f.fp, f.fp, []byte("x"), "", "")
	testkit.WantCode(t, err, chusme.CodePreconditionRequired)
	_, err = f.svc.PutBlob(ctx, f.fp, f.fp, []byte("x"), "abc", "")
	testkit.WantCode(t, err, chusme.CodePreconditionFailed)
	b1, err := f.svc.PutBlob(ctx, f.fp, f.fp, []byte("one"), "", "*")
	if err != nil || b1.ETag != identity.ETag([]byte("one")) {
		t.Fatalf("PutBlob = %+v, %v", b1, err)
	}
	_, err = f.svc.PutBlob(ctx, f.fp, f.fp, []byte("two"), "", "*")
	testkit.WantCode(t, err, chusme.CodePreconditionFailed)
	_, err = f.svc.PutBlob(ctx, f.fp, f.fp, bytes.Repeat([]byte{1}, chusme.MaxBlobSize+1), b1.ETag, "")
	testkit.WantCode(t, err, chusme.CodeBodyTooLarge)
	if _, err := f.svc.PutBlob(ctx, f.fp, f.fp, []byte("two"), b1.ETag, ""); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.PutBlob(ctx, f.fp, f.fp, []byte("three"), b1.ETag, "")
	testkit.WantCode(t, err, chusme.CodePreconditionFailed)
	got, _ := f.svc.Blob(ctx, f.fp)
	if string(got.Content) != "two" {
		t.Fatalf("blob %q", got.Content)
	}
}
