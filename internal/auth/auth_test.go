package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/sqlite"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/tokens"
)

const issuer = "https://auth.example.test"

type events struct {
	mu     sync.Mutex
	logins map[string]int
	reuse  int
}

func (e *events) Login(outcome string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logins[outcome]++
}

func (e *events) RefreshReused() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reuse++
}

type fixture struct {
	svc    *auth.Service
	store  chusme.Store
	path   string // the SQLite file; "" on PostgreSQL
	clock  *testkit.Clock
	events *events
	key    ed25519.PrivateKey
}

// newFixture returns a service on a real SQLite file with a fake clock and
// one registered administrator.
func newFixture(tb testing.TB, cfg auth.Config) *fixture {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "chusme.db")
	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	f := newFixtureOn(tb, store, cfg)
	f.path = path
	return f
}

// newFixtureOn is newFixture on store, which it closes when the test ends.
func newFixtureOn(tb testing.TB, store chusme.Store, cfg auth.Config) *fixture {
	tb.Helper()
	tb.Cleanup(func() { store.Close() })
	c := testkit.NewClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	kr, err := tokens.FromSeed(make([]byte, 32))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Issuer = issuer
	ev := &events{logins: map[string]int{}}
	is := &tokens.Issuer{Keys: kr, Issuer: issuer, Audience: issuer, Now: c.Now}
	if cfg.DataKey == nil {
		cfg.DataKey = make([]byte, 32)
		rand.Read(cfg.DataKey)
	}
	svc, err := auth.New(store, is, cfg, c.Now, slog.New(slog.DiscardHandler), ev)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{svc: svc, store: store, clock: c, events: ev, key: testkit.NewKey(tb)}
	ctx := context.Background()
	setup, err := f.svc.Bootstrap(ctx)
	if err != nil || setup == "" {
		tb.Fatalf("bootstrap: %q %v", setup, err)
	}
	if _, err := f.svc.Setup(ctx, testkit.SetupRequest(issuer, f.key, setup)); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (f *fixture) fingerprint() string {
	return testkit.Fingerprint(f.key)
}

func (f *fixture) answer(tb testing.TB, c chusme.Challenge) chusme.TokenRequest {
	return testkit.TokenRequest(issuer, f.key, c.ID, c.Nonce)
}

func (f *fixture) login(tb testing.TB) chusme.TokenResponse {
	tb.Helper()
	ctx := context.Background()
	c, err := f.svc.Challenge(ctx, f.fingerprint())
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := f.svc.Token(ctx, f.answer(tb, c))
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

func TestChallengeExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("answered_just_before_expiry", func(t *testing.T) {
		f := newFixture(t, auth.Config{})
		c, _ := f.svc.Challenge(ctx, f.fingerprint())
		f.clock.Add(auth.DefaultChallengeTTL - time.Nanosecond)
		if _, err := f.svc.Token(ctx, f.answer(t, c)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expired_refused", func(t *testing.T) {
		f := newFixture(t, auth.Config{})
		c, _ := f.svc.Challenge(ctx, f.fingerprint())
		f.clock.Add(auth.DefaultChallengeTTL)
		_, err := f.svc.Token(ctx, f.answer(t, c))
		testkit.WantCode(t, err, chusme.CodeChallengeInvalid)
		if f.events.logins[chusme.CodeChallengeInvalid] != 1 {
			t.Fatalf("login outcomes %v", f.events.logins)
		}
	})
	t.Run("signature_for_another_issuer_refused", func(t *testing.T) {
		f := newFixture(t, auth.Config{})
		c, _ := f.svc.Challenge(ctx, f.fingerprint())
		_, err := f.svc.Token(ctx, chusme.TokenRequest{ChallengeID: c.ID, Signature: ed25519.Sign(f.key, chusme.LoginMessage("https://other.test", c.ID, c.Nonce))})
		testkit.WantCode(t, err, chusme.CodeInvalidSignature)
	})
}

// TestChallengeIntegrity: a challenge id is only good as issued, by this
// server's data key, once.
func TestChallengeIntegrity(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, auth.Config{})
	c, err := f.svc.Challenge(ctx, f.fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// One bit flipped anywhere (version, expiry, nonce, fingerprint, tag),
	// the id re-encoded and the altered id signed properly: refused.
	for i := range raw {
		alt := bytes.Clone(raw)
		alt[i] ^= 1
		forged := c
		forged.ID = base64.RawURLEncoding.EncodeToString(alt)
		_, err := f.svc.Token(ctx, f.answer(t, forged))
		if chusme.ErrorCode(err) != chusme.CodeChallengeInvalid {
			t.Fatalf("byte %d altered: %v, want %s", i, err, chusme.CodeChallengeInvalid)
		}
	}
	for _, id := range []string{"", "nope", c.ID + "A", c.ID[:len(c.ID)-1], strings.ToUpper(c.ID)} {
		forged := c
		forged.ID = id
		if _, err := f.svc.Token(ctx, f.answer(t, forged)); chusme.ErrorCode(err) != chusme.CodeChallengeInvalid {
			t.Fatalf("id %q: %v, want %s", id, err, chusme.CodeChallengeInvalid)
		}
	}
	// Another server (another data key) refuses it.
	other := newFixture(t, auth.Config{})
	if _, err := other.svc.Token(ctx, f.answer(t, c)); chusme.ErrorCode(err) != chusme.CodeChallengeInvalid {
		t.Fatalf("another server: %v, want %s", err, chusme.CodeChallengeInvalid)
	}
	// Eight answers at once: exactly one session.
	req := f.answer(t, c)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.svc.Token(ctx, req) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch chusme.ErrorCode(err) {
		case "":
			wins++
		case chusme.CodeChallengeInvalid:
		default:
			t.Fatalf("concurrent answer: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent answers succeeded, want 1", wins)
	}
	if _, err := f.svc.Token(ctx, req); chusme.ErrorCode(err) != chusme.CodeChallengeInvalid {
		t.Fatalf("answered again: %v", err)
	}
}

func TestRefreshWindows(t *testing.T) {
	ctx := context.Background()
	t.Run("grace_boundary", func(t *testing.T) {
		f := newFixture(t, auth.Config{RefreshGrace: 10 * time.Second})
		t0 := f.login(t)
		if _, err := f.svc.Refresh(ctx, t0.RefreshToken); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(10 * time.Second)
		if _, err := f.svc.Refresh(ctx, t0.RefreshToken); err != nil {
			t.Fatalf("previous token at the end of the grace period: %v", err)
		}
		f2 := newFixture(t, auth.Config{RefreshGrace: 10 * time.Second})
		u0 := f2.login(t)
		f2.svc.Refresh(ctx, u0.RefreshToken)
		f2.clock.Add(10*time.Second + time.Nanosecond)
		_, err := f2.svc.Refresh(ctx, u0.RefreshToken)
		testkit.WantCode(t, err, chusme.CodeRefreshReused)
		if f2.events.reuse != 1 {
			t.Fatalf("reuse events %d", f2.events.reuse)
		}
	})
	t.Run("no_grace", func(t *testing.T) {
		// Without a grace the previous token is reuse, even for a request
		// whose clock was read before the exchange that used it committed:
		// concurrent refreshes read the time before they queue for the
		// writer (a flaky TestConcurrentRefresh/grace_0 found it).
		f := newFixture(t, auth.Config{RefreshGrace: -1})
		t0 := f.login(t)
		if _, err := f.svc.Refresh(ctx, t0.RefreshToken); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(-time.Millisecond)
		_, err := f.svc.Refresh(ctx, t0.RefreshToken)
		testkit.WantCode(t, err, chusme.CodeRefreshReused)
	})
	t.Run("idle_timeout", func(t *testing.T) {
		f := newFixture(t, auth.Config{SessionIdle: time.Hour})
		tok := f.login(t)
		f.clock.Add(time.Hour - time.Second)
		next, err := f.svc.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh within the idle timeout: %v", err)
		}
		f.clock.Add(time.Hour)
		_, err = f.svc.Refresh(ctx, next.RefreshToken)
		testkit.WantCode(t, err, chusme.CodeRefreshInvalid)
	})
	t.Run("absolute_lifetime", func(t *testing.T) {
		f := newFixture(t, auth.Config{SessionIdle: time.Hour, SessionLifetime: 3 * time.Hour})
		tok := f.login(t)
		for range 5 { // every 50 minutes: never idle, yet the session ends at 3 h
			f.clock.Add(50 * time.Minute)
			next, err := f.svc.Refresh(ctx, tok.RefreshToken)
			if f.clock.Now().Sub(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) >= 3*time.Hour {
				testkit.WantCode(t, err, chusme.CodeRefreshInvalid)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tok = next
		}
		t.Fatal("session outlived its absolute lifetime")
	})
	t.Run("access_token_expiry", func(t *testing.T) {
		f := newFixture(t, auth.Config{})
		tok := f.login(t)
		if _, err := f.svc.Authenticate(ctx, tok.AccessToken); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(tokens.AccessTTL + tokens.Leeway + time.Second)
		_, err := f.svc.Authenticate(ctx, tok.AccessToken)
		testkit.WantCode(t, err, chusme.CodeTokenExpired)
	})
}

// refreshBoth presents one refresh token from two tabs at once and returns
// what each got; both must succeed.
func refreshBoth(t *testing.T, f *fixture, refresh string) [2]chusme.TokenResponse {
	t.Helper()
	var got [2]chusme.TokenResponse
	var errs [2]error
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i], errs[i] = f.svc.Refresh(context.Background(), refresh) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("tab %d: %v", i, err)
		}
	}
	return got
}

// TestRefreshTwoTabs: two tabs refreshing one token at once both get the
// same new refresh token, which stays live, so when their access tokens
// expire (long after the grace period) each refreshes it again, one a few
// seconds after the other, and both stay logged in; a replay of the first
// token after that revokes the session.
func TestRefreshTwoTabs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, auth.Config{RefreshGrace: 10 * time.Second})
	t0 := f.login(t)
	first := refreshBoth(t, f, t0.RefreshToken)
	if first[0].RefreshToken != first[1].RefreshToken || first[0].RefreshToken == t0.RefreshToken {
		t.Fatalf("the tabs hold %q and %q, want one new token", first[0].RefreshToken, first[1].RefreshToken)
	}
	f.clock.Add(tokens.AccessTTL) // far past the grace period of t0
	var second [2]chusme.TokenResponse
	for i, tab := range first {
		var err error
		if second[i], err = f.svc.Refresh(ctx, tab.RefreshToken); err != nil {
			t.Fatalf("tab %d's second refresh: %v", i, err)
		}
		if _, err := f.svc.Authenticate(ctx, second[i].AccessToken); err != nil {
			t.Fatalf("tab %d after its second refresh: %v", i, err)
		}
		f.clock.Add(3 * time.Second)
	}
	if second[0].RefreshToken != second[1].RefreshToken {
		t.Fatal("the tabs' second refreshes returned two tokens")
	}
	if f.events.reuse != 0 {
		t.Fatalf("reuse events %d", f.events.reuse)
	}
	_, err := f.svc.Refresh(ctx, t0.RefreshToken)
	testkit.WantCode(t, err, chusme.CodeRefreshReused)
	_, err = f.svc.Refresh(ctx, second[0].RefreshToken)
	testkit.WantCode(t, err, chusme.CodeSessionRevoked)
	if f.events.reuse != 1 {
		t.Fatalf("reuse events %d", f.events.reuse)
	}
}

// TestRefreshOlderTokenAndForgery: any token of a session older than the
// one before its newest is reuse and revokes the session, though no token
// is stored; a token with a wrong tag, or made under another data key, is
// refresh_invalid and changes nothing.
func TestRefreshOlderTokenAndForgery(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, auth.Config{RefreshGrace: 10 * time.Second})
	chain := []chusme.TokenResponse{f.login(t)}
	for range 5 {
		next, err := f.svc.Refresh(ctx, chain[len(chain)-1].RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, next)
	}
	newest := chain[len(chain)-1]

	raw, err := base64.RawURLEncoding.DecodeString(newest.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	other := newFixture(t, auth.Config{}) // another data key
	for name, forged := range map[string]string{
		"wrong tag":        base64.RawURLEncoding.EncodeToString(raw),
		"another data key": other.login(t).RefreshToken,
		"truncated":        newest.RefreshToken[:len(newest.RefreshToken)-1],
	} {
		_, err := f.svc.Refresh(ctx, forged)
		testkit.WantCode(t, err, chusme.CodeRefreshInvalid)
		if _, err := f.svc.Authenticate(ctx, newest.AccessToken); err != nil {
			t.Fatalf("after a %s token: %v", name, err)
		}
	}
	if f.events.reuse != 0 {
		t.Fatalf("reuse events %d after forgeries", f.events.reuse)
	}

	_, err = f.svc.Refresh(ctx, chain[1].RefreshToken)
	testkit.WantCode(t, err, chusme.CodeRefreshReused)
	_, err = f.svc.Refresh(ctx, newest.RefreshToken)
	testkit.WantCode(t, err, chusme.CodeSessionRevoked)
	if f.events.reuse != 1 {
		t.Fatalf("reuse events %d", f.events.reuse)
	}
}

func TestInviteExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, auth.Config{})
	admin := f.login(t)
	p, err := f.svc.Authenticate(ctx, admin.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.CreateInvite(ctx, p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour)
	_, err = f.svc.Register(ctx, testkit.RegisterRequest(issuer, testkit.NewKey(t), inv.Invite))
	testkit.WantCode(t, err, chusme.CodeInviteInvalid)
}

// BenchmarkLogin measures the whole login path in the service: challenge
// (identity read, challenge MAC) and token (challenge MAC check, identity
// and TOTP reads, signature verification, the session write that records
// the challenge as used, JWT signature), on a real SQLite file. The
// client's signature is made outside the timer.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, auth.Config{})
	fp := f.fingerprint()
	b.ReportAllocs()
	for b.Loop() {
		c, err := f.svc.Challenge(ctx, fp)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		req := f.answer(b, c)
		b.StartTimer()
		if _, err := f.svc.Token(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh measures a refresh in the service: the exchange of the
// newest refresh token of one session (its transaction on a real SQLite
// file) and the new access token's signature.
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, auth.Config{})
	tok := f.login(b)
	b.ReportAllocs()
	for b.Loop() {
		next, err := f.svc.Refresh(ctx, tok.RefreshToken)
		if err != nil {
			b.Fatal(err)
		}
		tok = next
	}
}

// BenchmarkLoginParts measures the parts of a login on their own, so that
// BenchmarkLogin can be compared with their sum.
func BenchmarkLoginParts(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, auth.Config{})
	pub := f.key.Public().(ed25519.PublicKey)
	msg := chusme.LoginMessage(issuer, "challenge-id", make([]byte, 32))
	sig := ed25519.Sign(f.key, msg)
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("jwt_sign", func(b *testing.B) {
		kr, _ := tokens.FromSeed(make([]byte, 32))
		is := &tokens.Issuer{Keys: kr, Issuer: issuer, Audience: issuer, Now: time.Now}
		for b.Loop() {
			if _, _, err := is.Issue(f.fingerprint(), "session"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store_write", func(b *testing.B) {
		// The one write of a login: the session and the record of its
		// challenge, in one transaction.
		now := time.Now()
		for b.Loop() {
			id := rand.Text()
			nonce := make([]byte, 32)
			rand.Read(nonce)
			if err := f.store.CreateSession(ctx, chusme.NewSession{
				Session:   chusme.Session{ID: id, Fingerprint: f.fingerprint(), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
				Challenge: &chusme.UsedChallenge{Nonce: nonce, ExpiresAt: now.Add(time.Minute)},
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
