package client_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

func newClient(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := chusme.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestAgainstServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--refresh-grace", "0")
	ids := s.SetUp(t)
	admin, user, store, userKey := ids.Admin, ids.User, ids.UserTokens, ids.UserKey
	userFP := testkit.Fingerprint(userKey)

	t.Run("server info", func(t *testing.T) {
		info, err := user.ServerInfo(ctx)
		if err != nil || info.Issuer != s.URL || info.SetupPending {
			t.Fatalf("ServerInfo = %+v, %v", info, err)
		}
	})

	t.Run("me and identity", func(t *testing.T) {
		me, err := user.Me(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := store.Load(ctx)
		if me.Fingerprint != userFP || me.Role != chusme.RoleUser || me.SessionID != tok.SessionID || tok.Fingerprint != userFP {
			t.Fatalf("Me = %+v, tokens %+v", me, tok)
		}
		id, err := newClient(t, s.URL).Identity(ctx, userFP)
		if err != nil || id.Status != chusme.StatusActive || string(id.PublicKey) != string(userKey.Public().(ed25519.PublicKey)) {
			t.Fatalf("Identity = %+v, %v", id, err)
		}
	})

	t.Run("refusals keep their codes", func(t *testing.T) {
		_, err := user.Register(ctx, userKey, "")
		if code := chusme.ErrorCode(err); code != chusme.CodeIdentityExists && code != chusme.CodeRegistrationClosed {
			t.Fatalf("second Register: %v", err)
		}
		_, err = newClient(t, s.URL).Register(ctx, testkit.NewKey(t), "")
		wantCode(t, "Register without invite", err, chusme.CodeRegistrationClosed)
		_, err = newClient(t, s.URL).Register(ctx, testkit.NewKey(t), "no-such-invite")
		wantCode(t, "Register with a bad invite", err, chusme.CodeInviteInvalid)
		_, err = newClient(t, s.URL).Setup(ctx, "whatever", testkit.NewKey(t))
		wantCode(t, "second Setup", err, chusme.CodeSetupInvalid)
		_, err = user.CreateInvite(ctx, 0)
		wantCode(t, "CreateInvite as a user", err, chusme.CodeForbidden)
		_, err = newClient(t, s.URL).Identity(ctx, chusme.Fingerprint([]byte("nobody")))
		wantCode(t, "Identity of nobody", err, chusme.CodeNotFound)
		_, err = newClient(t, s.URL).Me(ctx)
		wantCode(t, "Me without login", err, chusme.CodeUnauthorized)
	})

	t.Run("refresh then logout", func(t *testing.T) {
		before, _ := store.Load(ctx)
		after, err := user.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken || after.SessionID != before.SessionID {
			t.Fatalf("Refresh did not rotate: %+v -> %+v", before, after)
		}
		if saved, _ := store.Load(ctx); saved != after {
			t.Fatalf("store holds %+v, want %+v", saved, after)
		}
		if _, err := user.Me(ctx); err != nil {
			t.Fatalf("Me after Refresh: %v", err)
		}
		if err := user.Logout(ctx); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		if saved, _ := store.Load(ctx); saved != (client.Tokens{}) {
			t.Fatalf("store not cleared after Logout: %+v", saved)
		}
		// The logged-out session's access token, though not expired, no
		// longer works.
		stale := &client.MemoryTokenStore{}
		stale.Save(ctx, after)
		_, err = newClient(t, s.URL, client.WithTokenStore(stale)).Me(ctx)
		wantCode(t, "Me after Logout", err, chusme.CodeSessionRevoked)
	})

	t.Run("expired access token refreshed transparently", func(t *testing.T) {
		if _, err := user.Login(ctx, userKey); err != nil {
			t.Fatal(err)
		}
		tok, _ := store.Load(ctx)
		tok.AccessExpiresAt = time.Now().Add(-time.Minute)
		store.Save(ctx, tok)
		if _, err := user.Me(ctx); err != nil {
			t.Fatalf("Me with an expired access token: %v", err)
		}
		now, _ := store.Load(ctx)
		if now.RefreshToken == tok.RefreshToken || !now.AccessExpiresAt.After(time.Now().Add(10*time.Minute)) {
			t.Fatalf("tokens not refreshed: %+v", now)
		}
	})

	t.Run("reused refresh token revokes the session", func(t *testing.T) {
		old, _ := store.Load(ctx)
		if _, err := user.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		replay := &client.MemoryTokenStore{}
		replay.Save(ctx, old)
		_, err := newClient(t, s.URL, client.WithTokenStore(replay)).Refresh(ctx)
		wantCode(t, "Refresh with a used token", err, chusme.CodeRefreshReused)
		_, err = user.Me(ctx)
		wantCode(t, "Me after reuse", err, chusme.CodeSessionRevoked)
	})

	t.Run("ban", func(t *testing.T) {
		if _, err := user.Login(ctx, userKey); err != nil {
			t.Fatal(err)
		}
		info, err := admin.Ban(ctx, userFP)
		if err != nil || info.Status != chusme.StatusBanned {
			t.Fatalf("Ban = %+v, %v", info, err)
		}
		if _, err := user.Me(ctx); err == nil {
			t.Fatal("Me of a banned identity succeeded")
		}
		_, err = user.Login(ctx, userKey)
		if code := chusme.ErrorCode(err); code != chusme.CodeBanned {
			t.Fatalf("Login of a banned identity: %v", err)
		}
	})

	t.Run("refuses another issuer", func(t *testing.T) {
		c := newClient(t, s.URL, client.WithIssuer("https://id.example.com"))
		_, err := c.Login(ctx, userKey)
		if err == nil || !strings.Contains(err.Error(), s.URL) || !strings.Contains(err.Error(), "https://id.example.com") {
			t.Fatalf("Login = %v, want an issuer mismatch naming both", err)
		}
	})
}

// Concurrent calls with an expired access token share one refresh: with no
// grace period a second presentation would revoke the session.
func TestConcurrentRefreshAgainstServer(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--refresh-grace", "0")
	ids := s.SetUp(t)
	user, store := ids.User, ids.UserTokens
	tok, _ := store.Load(ctx)
	tok.AccessExpiresAt = time.Now().Add(-time.Minute)
	store.Save(ctx, tok)
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() {
			_, err := user.Me(ctx)
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("Me: %v", err)
		}
	}
	if _, err := user.Me(ctx); err != nil {
		t.Fatalf("Me afterwards: %v", err)
	}
}
