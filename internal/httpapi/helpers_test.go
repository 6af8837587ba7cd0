package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// api talks raw HTTP to a running server, so the tests pin the wire
// contract itself rather than the client library's view of it.
type api struct {
	t   testing.TB
	srv *servertest.Server
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes a problem+json reply, failing the test if it isn't one.
func (r reply) problem(t *testing.T) chusme.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (status %d, body %s)", ct, r.status, r.body)
	}
	var p chusme.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, r.body)
	}
	if p.Status != r.status {
		t.Fatalf("problem status %d, HTTP status %d", p.Status, r.status)
	}
	return p
}

// expect asserts the reply is a problem with the given status and code.
func (r reply) expect(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if p := r.problem(t); p.Code != code {
		t.Fatalf("code %q, want %q (%s)", p.Code, code, p.Detail)
	}
}

// do sends body (JSON-encoded unless it is a []byte or string) with an
// optional bearer token.
func (a *api) do(method, path, token string, body any) reply {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, data}
}

// ok sends a request, expects status want and decodes the JSON answer into out.
func (a *api) ok(want int, method, path, token string, body, out any) {
	a.t.Helper()
	r := a.do(method, path, token, body)
	if r.status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pub(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

func fingerprint(k ed25519.PrivateKey) string { return chusme.Fingerprint(pub(k)) }

// setupAdmin redeems the setup token with a new key.
func (a *api) setupAdmin() ed25519.PrivateKey {
	a.t.Helper()
	k := newKey(a.t)
	a.ok(201, "POST", "/v1/setup", "", chusme.SetupRequest{
		SetupToken: a.srv.SetupToken(a.t),
		PublicKey:  pub(k),
		Signature:  ed25519.Sign(k, chusme.RegisterMessage(a.srv.URL, pub(k))),
	}, nil)
	return k
}

// register registers a new key with an invite issued by admin's token.
func (a *api) register(adminToken string) ed25519.PrivateKey {
	a.t.Helper()
	var inv chusme.InviteResponse
	a.ok(201, "POST", "/v1/admin/invites", adminToken, nil, &inv)
	k := newKey(a.t)
	a.ok(201, "POST", "/v1/identities", "", chusme.RegisterRequest{
		PublicKey: pub(k),
		Signature: ed25519.Sign(k, chusme.RegisterMessage(a.srv.URL, pub(k))),
		Invite:    inv.Invite,
	}, nil)
	return k
}

// challenge asks for a login challenge.
func (a *api) challenge(k ed25519.PrivateKey) chusme.ChallengeResponse {
	a.t.Helper()
	var c chusme.ChallengeResponse
	a.ok(200, "POST", "/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: fingerprint(k)}, &c)
	return c
}

// login runs challenge → token.
func (a *api) login(k ed25519.PrivateKey) chusme.TokenResponse {
	a.t.Helper()
	c := a.challenge(k)
	var tr chusme.TokenResponse
	a.ok(200, "POST", "/v1/auth/token", "", chusme.TokenRequest{
		ChallengeID: c.ChallengeID,
		Signature:   ed25519.Sign(k, chusme.LoginMessage(a.srv.URL, c.ChallengeID, c.Nonce)),
	}, &tr)
	return tr
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
