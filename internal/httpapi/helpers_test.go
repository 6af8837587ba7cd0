package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// api talks raw HTTP to a running server, so the tests pin the wire
// contract itself rather than the client library's view of it.
type api struct {
	t   testing.TB
	srv *servertest.Server
}

// do sends body (JSON-encoded unless it is a []byte or string) with an
// optional bearer token.
func (a *api) do(method, path, token string, body any) testkit.Reply {
	a.t.Helper()
	return testkit.Do(a.t, method, a.srv.URL+path, token, body)
}

// ok sends a request, expects status want and decodes the JSON answer into out.
func (a *api) ok(want int, method, path, token string, body, out any) {
	a.t.Helper()
	a.do(method, path, token, body).Want(a.t, want, out)
}

// setupAdmin redeems the setup token with a new key.
func (a *api) setupAdmin() ed25519.PrivateKey {
	a.t.Helper()
	k := testkit.NewKey(a.t)
	a.ok(201, "POST", "/v1/setup", "", testkit.SetupRequest(a.srv.URL, k, a.srv.SetupToken(a.t)), nil)
	return k
}

// register registers a new key with an invite issued by admin's token.
func (a *api) register(adminToken string) ed25519.PrivateKey {
	a.t.Helper()
	var inv chusme.InviteResponse
	a.ok(201, "POST", "/v1/admin/invites", adminToken, nil, &inv)
	k := testkit.NewKey(a.t)
	a.ok(201, "POST", "/v1/identities", "", testkit.RegisterRequest(a.srv.URL, k, inv.Invite), nil)
	return k
}

// adminAndUser sets up an administrator and registers a user with its
// invite, returning the administrator's access token and the user's key.
func (a *api) adminAndUser() (string, ed25519.PrivateKey) {
	a.t.Helper()
	adminTok := a.login(a.setupAdmin()).AccessToken
	return adminTok, a.register(adminTok)
}

// challenge asks for a login challenge.
func (a *api) challenge(k ed25519.PrivateKey) chusme.ChallengeResponse {
	a.t.Helper()
	var c chusme.ChallengeResponse
	a.ok(200, "POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: testkit.Fingerprint(k)}, &c)
	return c
}

// login runs challenge → token.
func (a *api) login(k ed25519.PrivateKey) chusme.TokenResponse {
	a.t.Helper()
	return testkit.Login(a.t, a.srv.URL, a.srv.URL, k)
}

// snapshot returns a digest of every row of every table of the server's
// SQLite file, to show that a refused request changed nothing.
func snapshot(t *testing.T, dataDir string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "chusme.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	h := sha256.New()
	for _, table := range tables {
		r, err := db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %q ORDER BY 1", table))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for r.Next() {
			r.Scan(ptrs...)
			fmt.Fprintf(h, "%s|%v\n", table, vals)
			n++
		}
		r.Close()
		fmt.Fprintf(h, "%s:%d\n", table, n)
	}
	return hex.EncodeToString(h.Sum(nil))
}
