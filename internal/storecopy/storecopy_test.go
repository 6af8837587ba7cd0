package storecopy_test

import (
	"bytes"
	"crypto/ed25519"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/storecopy"
)

// TestCopy copies a populated SQLite store into an empty PostgreSQL
// database; a server on PostgreSQL with the same data directory (for the
// signing keys) logs the same identities in and refreshes a session begun
// on SQLite; a second copy into the now non-empty database is refused.
func TestCopy(t *testing.T) {
	const issuer = "http://chusme.test" // the same before and after the copy
	dsn := pgtest.FreshDatabase(t)
	ctx := t.Context()
	srv := servertest.Start(t, "--issuer", issuer)
	newClient := func(url string, store client.TokenStore) *client.Client {
		t.Helper()
		c, err := client.New(url, client.WithTokenStore(store), client.WithIssuer(issuer))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ids := srv.SetUp(t, client.WithIssuer(issuer))
	admin, user, adminC, userC, userTokens := ids.AdminKey, ids.UserKey, ids.Admin, ids.User, ids.UserTokens
	if _, err := userC.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// A 2-of-2 DKG between the two, for ceremonies, submissions and a group key.
	keys := []ed25519.PrivateKey{admin, user}
	cs := []*client.Client{adminC, userC}
	info, err := adminC.StartDKG(ctx, admin, 2, []string{chusme.Fingerprint(admin.Public().(ed25519.PublicKey)), chusme.Fingerprint(user.Public().(ed25519.PublicKey))})
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
	before, err := adminC.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)

	var out bytes.Buffer
	from := filepath.Join(srv.DataDir, "chusme.db")
	if err := storecopy.Copy(ctx, "sqlite:"+from, dsn, &out); err != nil {
		t.Fatalf("Copy: %v\n%s", err, out.String())
	}
	t.Logf("store copy:\n%s", out.String())
	for _, want := range []string{"verified", "identities  ", "refresh_tokens  ", "sessions  ", "ceremony_submissions  ", "group_keys  ", "group_key_confirmations  "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("Copy's output lacks %q:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] != "table" && (f[3] != "ok" || (f[0] == "identities" && f[1] != "2") || (f[0] == "group_keys" && f[1] != "1") ||
			(f[0] == "group_key_confirmations" && f[1] != "2")) {
			t.Fatalf("Copy's line %q", line)
		}
	}

	pg := servertest.StartIn(t, srv.DataDir, "--database", dsn, "--issuer", issuer)
	adminPG := newClient(pg.URL, &client.MemoryTokenStore{})
	if _, err := adminPG.Login(ctx, admin); err != nil {
		t.Fatalf("the admin logging in on PostgreSQL: %v", err)
	}
	if me, err := adminPG.Me(ctx); err != nil || me.Role != chusme.RoleAdmin {
		t.Fatalf("the admin on PostgreSQL: %+v, %v", me, err)
	}
	userPG := newClient(pg.URL, &client.MemoryTokenStore{})
	if _, err := userPG.Login(ctx, user); err != nil {
		t.Fatalf("the user logging in on PostgreSQL: %v", err)
	}
	after, err := userPG.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatalf("the group key on PostgreSQL: %v", err)
	}
	if !bytes.Equal(after.PublicKey, before.PublicKey) || !bytes.Equal(after.PublicKeyPackage, before.PublicKeyPackage) || after.Threshold != 2 ||
		after.Certificate == nil || !reflect.DeepEqual(after.Certificate, before.Certificate) {
		t.Fatalf("the group key on PostgreSQL differs: %+v, want %+v", after, before)
	}
	// The session begun on SQLite, moved to the PostgreSQL server's URL.
	tok, err := userTokens.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok.Server = pg.URL
	moved := &client.MemoryTokenStore{}
	moved.Save(ctx, tok)
	if _, err := newClient(pg.URL, moved).Refresh(ctx); err != nil {
		t.Fatalf("a refresh token from SQLite on PostgreSQL: %v", err)
	}
	pg.Stop(t)

	out.Reset()
	err = storecopy.Copy(ctx, from, dsn, &out)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("a second copy into a non-empty database: %v\n%s", err, out.String())
	}
}
