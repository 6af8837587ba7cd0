package storecopy_test

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/storecopy"
	"github.com/chusme/chusme/internal/testkit"
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
	ids := srv.SetUp(t, client.WithIssuer(issuer))
	admin, user, adminC, userC, userTokens := ids.AdminKey, ids.UserKey, ids.Admin, ids.User, ids.UserTokens
	if _, err := userC.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// A 2-of-2 DKG between the two, for ceremonies, submissions and a group key.
	res := servertest.DKG(t, []*servertest.Member{
		{Key: admin, Fingerprint: testkit.Fingerprint(admin), Client: adminC},
		{Key: user, Fingerprint: testkit.Fingerprint(user), Client: userC},
	}, 2)
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
	for _, want := range []string{"verified", "identities  ", "sessions  ", "ceremony_submissions  ", "ceremony_packages  ", "ceremony_terms  ", "group_keys  ", "group_key_confirmations  "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("Copy's output lacks %q:\n%s", want, out.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] != "table" && (f[3] != "ok" || (f[0] == "identities" && f[1] != "2") || (f[0] == "group_keys" && f[1] != "1") ||
			(f[0] == "group_key_confirmations" && f[1] != "2") || (f[0] == "ceremony_packages" && f[1] != "2") ||
			(f[0] == "ceremony_terms" && f[1] != "1")) {
			t.Fatalf("Copy's line %q", line)
		}
	}

	pg := servertest.StartIn(t, srv.DataDir, "--database", dsn, "--issuer", issuer)
	adminPG := servertest.NewMember(t, pg.URL, admin, client.WithIssuer(issuer))
	adminPG.Login(t)
	if me, err := adminPG.Client.Me(ctx); err != nil || me.Role != chusme.RoleAdmin {
		t.Fatalf("the admin on PostgreSQL: %+v, %v", me, err)
	}
	userPG := servertest.NewMember(t, pg.URL, user, client.WithIssuer(issuer))
	userPG.Login(t)
	after, err := userPG.Client.GroupKey(ctx, res[0].KeyID)
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
	moved := servertest.NewMember(t, pg.URL, user, client.WithIssuer(issuer))
	moved.Tokens.Save(ctx, tok)
	if _, err := moved.Client.Refresh(ctx); err != nil {
		t.Fatalf("a refresh token from SQLite on PostgreSQL: %v", err)
	}
	pg.Stop(t)

	out.Reset()
	err = storecopy.Copy(ctx, from, dsn, &out)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("a second copy into a non-empty database: %v\n%s", err, out.String())
	}
}
