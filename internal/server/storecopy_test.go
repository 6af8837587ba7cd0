package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
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
	// A 2-of-2 DKG between the two, for ceremonies, submissions and a group key.
	ctx := t.Context()
	newClient := func(url string, k ed25519.PrivateKey) *client.Client {
		t.Helper()
		c, err := client.New(url, client.WithTokenStore(&client.MemoryTokenStore{}), client.WithIssuer(issuer))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Login(ctx, k); err != nil {
			t.Fatal(err)
		}
		return c
	}
	keys := []ed25519.PrivateKey{admin, user}
	cs := []*client.Client{newClient(srv.URL, admin), newClient(srv.URL, user)}
	info, err := cs[0].StartDKG(ctx, 2, []string{chusme.Fingerprint(admin.Public().(ed25519.PublicKey)), chusme.Fingerprint(user.Public().(ed25519.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	res := make([]*client.DKGResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { res[i], errs[i] = c.RunDKG(ctx, info.ID, keys[i], nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("RunDKG %d: %v", i, err)
		}
		defer res[i].KeyPackage.Zero()
	}
	before, err := cs[0].GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)

	var out bytes.Buffer
	from := filepath.Join(srv.DataDir, "chusme.db")
	if err := server.Run(t.Context(), []string{"store", "copy", "--from", "sqlite:" + from, "--to", dsn}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("store copy: %v\n%s", err, out.String())
	}
	t.Logf("store copy:\n%s", out.String())
	for _, want := range []string{"verified", "identities  ", "refresh_tokens  ", "sessions  ", "ceremony_submissions  ", "group_keys  "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("store copy output lacks %q:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] != "table" && (f[3] != "ok" || (f[0] == "identities" && f[1] != "2") || (f[0] == "group_keys" && f[1] != "1")) {
			t.Fatalf("store copy line %q", line)
		}
	}

	pg := servertest.StartIn(t, srv.DataDir, "--database", dsn, "--issuer", issuer)
	tok := login(t, pg.URL, admin)
	if st := get(t, pg.URL+"/v1/me", tok.AccessToken); st != 200 {
		t.Fatalf("admin on PostgreSQL: /v1/me %d", st)
	}
	login(t, pg.URL, user)
	after, err := newClient(pg.URL, user).GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatalf("the group key on PostgreSQL: %v", err)
	}
	if !bytes.Equal(after.PublicKey, before.PublicKey) || !bytes.Equal(after.PublicKeyPackage, before.PublicKeyPackage) || after.Threshold != 2 {
		t.Fatalf("the group key on PostgreSQL differs: %+v, want %+v", after, before)
	}
	if st := post(t, pg.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: refreshed.RefreshToken}, nil); st != 200 {
		t.Fatalf("a refresh token from SQLite on PostgreSQL: %d", st)
	}
	pg.Stop(t)

	out.Reset()
	err = server.Run(t.Context(), []string{"store", "copy", "--from", from, "--to", dsn}, func(string) string { return "" }, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("second copy into a non-empty database: %v\n%s", err, out.String())
	}
}

// TestStoreCopyArguments: store copy only goes from a SQLite file to a
// postgres:// URL.
func TestStoreCopyArguments(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chusme.db")
	for name, args := range map[string][]string{
		"no arguments":    {"store", "copy"},
		"no subcommand":   {"store"},
		"from postgres":   {"store", "copy", "--from", "postgres://x/y", "--to", "postgres://x/z"},
		"to a file":       {"store", "copy", "--from", db, "--to", "/tmp/x.db"},
		"missing source":  {"store", "copy", "--from", db, "--to", "postgres://127.0.0.1:1/none"},
		"unknown flag":    {"store", "copy", "--from", db, "--to", "postgres://x/y", "--force"},
		"wrong operation": {"store", "move", "--from", db, "--to", "postgres://x/y"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			var out bytes.Buffer
			if err := server.Run(t.Context(), args, func(string) string { return "" }, &out, &out); err == nil {
				t.Fatalf("store copy accepted %q", args)
			}
		})
	}
}
