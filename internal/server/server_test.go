package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/server"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/sqlite"
)

const issuer = "http://chusme.test"

func post(t *testing.T, url, token string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func login(t *testing.T, base string, k ed25519.PrivateKey) chusme.TokenResponse {
	t.Helper()
	var c chusme.ChallengeResponse
	post(t, base+"/v1/auth/challenge", "", chusme.ChallengeRequest{Fingerprint: chusme.Fingerprint(k.Public().(ed25519.PublicKey))}, &c)
	var tr chusme.TokenResponse
	if st := post(t, base+"/v1/auth/token", "", chusme.TokenRequest{ChallengeID: c.ChallengeID, Signature: ed25519.Sign(k, chusme.LoginMessage(issuer, c.ChallengeID, c.Nonce))}, &tr); st != 200 {
		t.Fatalf("login: status %d", st)
	}
	return tr
}

// TestKeyRotationAcrossRestart: `chusmed keys rotate` adds a signing key;
// tokens signed by the old key stay valid, and the JWKS publishes both.
func TestKeyRotationAcrossRestart(t *testing.T) {
	srv := servertest.Start(t, "--issuer", issuer)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub := chusme.Bytes(k.Public().(ed25519.PublicKey))
	if st := post(t, srv.URL+"/v1/setup", "", chusme.SetupRequest{SetupToken: srv.SetupToken(t), PublicKey: pub, Signature: ed25519.Sign(k, chusme.RegisterMessage(issuer, pub))}, nil); st != 201 {
		t.Fatalf("setup: %d", st)
	}
	before := login(t, srv.URL, k)
	srv.Stop(t)

	var out bytes.Buffer
	if err := server.Run(context.Background(), []string{"keys", "rotate", "--data-dir", srv.DataDir}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "new signing key") {
		t.Fatalf("keys rotate said %q", out.String())
	}

	again := servertest.StartIn(t, srv.DataDir, "--issuer", issuer)
	if st := get(t, again.URL+"/v1/me", before.AccessToken); st != 200 {
		t.Fatalf("token of the retired key: status %d, want 200", st)
	}
	after := login(t, again.URL, k)
	kid := func(tok string) string {
		var h struct{ Kid string }
		seg, _, _ := strings.Cut(tok, ".")
		b, _ := base64.RawURLEncoding.DecodeString(seg)
		json.Unmarshal(b, &h)
		return h.Kid
	}
	if kid(before.AccessToken) == kid(after.AccessToken) {
		t.Fatal("the new token is signed by the old key")
	}
	resp, err := http.Get(again.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct{ Keys []struct{ Kid string } }
	json.NewDecoder(resp.Body).Decode(&jwks)
	if len(jwks.Keys) != 2 {
		t.Fatalf("jwks has %d keys, want 2", len(jwks.Keys))
	}
}

func TestConfigErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for name, args := range map[string][]string{
		"unknown flag":     {"--nope"},
		"bad registration": {"--registration", "sometimes"},
		"bad rate":         {"--rate-ip", "fast"},
		"bad proxy":        {"--trusted-proxies", "10.0.0.1"},
		"port in use":      {"--listen", ln.Addr().String()},
		"unknown database": {"--database", "mysql://x"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			var out bytes.Buffer
			full := append([]string{"--data-dir", t.TempDir()}, args...)
			if err := server.Run(context.Background(), full, func(string) string { return "" }, &out, &out); err == nil {
				t.Fatal("Run accepted a bad configuration")
			}
		})
	}
}

// TestTwoNodesOnPostgres runs two servers on one PostgreSQL database: a
// login on one node is refreshed on the other, and a replayed refresh token
// on the first revokes the session everywhere.
func TestTwoNodesOnPostgres(t *testing.T) {
	dsn := pgtest.FreshDatabase(t)
	dir := t.TempDir()
	a := servertest.StartIn(t, dir, "--database", dsn, "--issuer", issuer, "--refresh-grace", "0")
	b := servertest.StartIn(t, dir, "--database", dsn, "--issuer", issuer, "--refresh-grace", "0")
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub := chusme.Bytes(k.Public().(ed25519.PublicKey))
	if st := post(t, a.URL+"/v1/setup", "", chusme.SetupRequest{SetupToken: b.SetupToken(t), PublicKey: pub, Signature: ed25519.Sign(k, chusme.RegisterMessage(issuer, pub))}, nil); st != 201 {
		t.Fatalf("setup on node a: %d", st)
	}
	first := login(t, a.URL, k)
	var next chusme.TokenResponse
	if st := post(t, b.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: first.RefreshToken}, &next); st != 200 {
		t.Fatalf("refresh on node b: %d", st)
	}
	if st := get(t, b.URL+"/v1/me", first.AccessToken); st != 200 {
		t.Fatalf("node a's access token on node b: %d", st)
	}
	if st := post(t, a.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: first.RefreshToken}, nil); st != 401 {
		t.Fatalf("replayed refresh token on node a: %d, want 401", st)
	}
	for _, node := range []*servertest.Server{a, b} {
		if st := get(t, node.URL+"/v1/me", next.AccessToken); st != 401 {
			t.Fatalf("revoked session still works on %s: %d", node.URL, st)
		}
	}
}

// TestBackupOnline copies the store of a running server; the copy holds its
// identities.
func TestBackupOnline(t *testing.T) {
	srv := servertest.Start(t, "--issuer", issuer)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub := chusme.Bytes(k.Public().(ed25519.PublicKey))
	if st := post(t, srv.URL+"/v1/setup", "", chusme.SetupRequest{SetupToken: srv.SetupToken(t), PublicKey: pub, Signature: ed25519.Sign(k, chusme.RegisterMessage(issuer, pub))}, nil); st != 201 {
		t.Fatalf("setup: %d", st)
	}
	to := filepath.Join(t.TempDir(), "copy.db")
	var out bytes.Buffer
	if err := server.Run(t.Context(), []string{"backup", "--to", to, "--data-dir", srv.DataDir}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	db, err := sqlite.Open(t.Context(), to)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if id, err := db.GetIdentity(t.Context(), chusme.Fingerprint(pub)); err != nil || id.Role != chusme.RoleAdmin {
		t.Fatalf("the copy lacks the administrator: %+v %v", id, err)
	}
	if err := server.Run(t.Context(), []string{"backup", "--to", to, "--data-dir", srv.DataDir}, func(string) string { return "" }, &out, &out); err == nil {
		t.Fatal("backup overwrote an existing file")
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
