package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/server"
	"github.com/chusme/chusme/internal/servertest"
)

// TestStoreCopy copies a populated SQLite store into an empty PostgreSQL
// database; a server on PostgreSQL with the same data directory (for the
// signing keys) logs the same identities in; a second copy into the now
// non-empty database is refused.
func TestStoreCopy(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	srv := servertest.Start(t, "--issuer", issuer)
	_, admin, _ := ed25519.GenerateKey(rand.Reader)
	adminPub := chusme.Bytes(admin.Public().(ed25519.PublicKey))
	if st := post(t, srv.URL+"/v1/setup", "", chusme.SetupRequest{SetupToken: srv.SetupToken(t), PublicKey: adminPub, Signature: ed25519.Sign(admin, chusme.RegisterMessage(issuer, adminPub))}, nil); st != 201 {
		t.Fatalf("setup: %d", st)
	}
	adminTok := login(t, srv.URL, admin)
	var inv chusme.InviteResponse
	if st := post(t, srv.URL+"/v1/admin/invites", adminTok.AccessToken, chusme.InviteRequest{TTLSeconds: 3600}, &inv); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	_, user, _ := ed25519.GenerateKey(rand.Reader)
	userPub := chusme.Bytes(user.Public().(ed25519.PublicKey))
	if st := post(t, srv.URL+"/v1/identities", "", chusme.RegisterRequest{PublicKey: userPub, Signature: ed25519.Sign(user, chusme.RegisterMessage(issuer, userPub)), Invite: inv.Invite}, nil); st != 201 {
		t.Fatalf("register: %d", st)
	}
	userTok := login(t, srv.URL, user)
	var refreshed chusme.TokenResponse
	if st := post(t, srv.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: userTok.RefreshToken}, &refreshed); st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	srv.Stop(t)

	var out bytes.Buffer
	from := filepath.Join(srv.DataDir, "chusme.db")
	if err := server.Run(t.Context(), []string{"store", "copy", "--from", "sqlite:" + from, "--to", dsn}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("store copy: %v\n%s", err, out.String())
	}
	t.Logf("store copy:\n%s", out.String())
	for _, want := range []string{"verified", "identities  ", "refresh_tokens  ", "sessions  "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("store copy output lacks %q:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] != "table" && (f[3] != "ok" || (f[0] == "identities" && f[1] != "2")) {
			t.Fatalf("store copy line %q", line)
		}
	}

	pg := servertest.StartIn(t, srv.DataDir, "--database", dsn, "--issuer", issuer)
	tok := login(t, pg.URL, admin)
	if st := get(t, pg.URL+"/v1/me", tok.AccessToken); st != 200 {
		t.Fatalf("admin on PostgreSQL: /v1/me %d", st)
	}
	login(t, pg.URL, user)
	if st := post(t, pg.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: refreshed.RefreshToken}, nil); st != 200 {
		t.Fatalf("a refresh token from SQLite on PostgreSQL: %d", st)
	}
	pg.Stop(t)

	out.Reset()
	err := server.Run(t.Context(), []string{"store", "copy", "--from", from, "--to", dsn}, func(string) string { return "" }, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("second copy into a non-empty database: %v\n%s", err, out.String())
	}
}
