package server_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/postgres/pgtest"
	"github.com/chusme/chusme/internal/server"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/sqlite"
	"github.com/chusme/chusme/internal/sqlstore"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/internal/tokens"
)

const issuer = "http://chusme.test"

// TestKeyRotationAcrossRestart: `chusmed keys rotate` adds a signing key
// that the JWKS publishes at once beside the old one, while the old key
// keeps signing (for the JWKS cache lifetime and more: the switch itself is
// TestRotationPrePublishes in internal/tokens); tokens of the old key stay
// valid.
func TestKeyRotationAcrossRestart(t *testing.T) {
	srv := servertest.Start(t, "--issuer", issuer)
	k := testkit.NewKey(t)
	testkit.Do(t, "POST", srv.URL+"/v1/setup", "", testkit.SetupRequest(issuer, k, srv.SetupToken(t))).Want(t, 201, nil)
	before := testkit.Login(t, srv.URL, issuer, k)
	srv.Stop(t)

	var out bytes.Buffer
	if err := server.Run(context.Background(), []string{"keys", "rotate", "--data-dir", srv.DataDir}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	newKid, ok := strings.CutPrefix(out.String(), "new signing key ")
	newKid, _, _ = strings.Cut(newKid, ":")
	if !ok || newKid == "" {
		t.Fatalf("keys rotate said %q", out.String())
	}

	again := servertest.StartIn(t, srv.DataDir, "--issuer", issuer)
	if st := testkit.Do(t, "GET", again.URL+"/v1/me", before.AccessToken, nil).Status; st != 200 {
		t.Fatalf("token of the retired key: status %d, want 200", st)
	}
	after := testkit.Login(t, again.URL, issuer, k)
	kid := func(tok string) string {
		var h struct{ Kid string }
		seg, _, _ := strings.Cut(tok, ".")
		b, _ := base64.RawURLEncoding.DecodeString(seg)
		json.Unmarshal(b, &h)
		return h.Kid
	}
	if kid(after.AccessToken) != kid(before.AccessToken) || kid(after.AccessToken) == newKid {
		t.Fatalf("right after the rotation a token carries kid %s, want the old %s", kid(after.AccessToken), kid(before.AccessToken))
	}
	var jwks struct{ Keys []struct{ Kid string } }
	r := testkit.Do(t, "GET", again.URL+"/.well-known/jwks.json", "", nil)
	r.Want(t, 200, &jwks)
	if cc, want := r.Header.Get("Cache-Control"), "public, max-age=300"; cc != want || tokens.JWKSCacheTTL != 300*time.Second {
		t.Fatalf("JWKS Cache-Control %q, want %q, the cache lifetime a new key waits out", cc, want)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[1].Kid != newKid {
		t.Fatalf("jwks %+v, want the old key and the new %s", jwks.Keys, newKid)
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
		"bad min free":     {"--min-free-mb", "-1"},
		"bad synchronous":  {"--sqlite-synchronous", "off"},
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
	k := testkit.NewKey(t)
	testkit.Do(t, "POST", a.URL+"/v1/setup", "", testkit.SetupRequest(issuer, k, b.SetupToken(t))).Want(t, 201, nil)
	var ready map[string]any
	if testkit.Do(t, "GET", a.URL+"/readyz", "", nil).Want(t, 200, &ready); ready["disk"] != nil {
		t.Errorf("/readyz on PostgreSQL checks the local disk: %v", ready)
	}
	first := testkit.Login(t, a.URL, issuer, k)
	var next chusme.TokenResponse
	testkit.Do(t, "POST", b.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: first.RefreshToken}).Want(t, 200, &next)
	if st := testkit.Do(t, "GET", b.URL+"/v1/me", first.AccessToken, nil).Status; st != 200 {
		t.Fatalf("node a's access token on node b: %d", st)
	}
	if st := testkit.Do(t, "POST", a.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: first.RefreshToken}).Status; st != 401 {
		t.Fatalf("replayed refresh token on node a: %d, want 401", st)
	}
	for _, node := range []*servertest.Server{a, b} {
		if st := testkit.Do(t, "GET", node.URL+"/v1/me", next.AccessToken, nil).Status; st != 401 {
			t.Fatalf("revoked session still works on %s: %d", node.URL, st)
		}
	}
}

// TestBackupOnline copies the store of a running server; the copy holds its
// identities.
func TestBackupOnline(t *testing.T) {
	srv := servertest.Start(t, "--issuer", issuer)
	k := testkit.NewKey(t)
	testkit.Do(t, "POST", srv.URL+"/v1/setup", "", testkit.SetupRequest(issuer, k, srv.SetupToken(t))).Want(t, 201, nil)
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
	if id, err := db.GetIdentity(t.Context(), testkit.Fingerprint(k)); err != nil || id.Role != chusme.RoleAdmin {
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

// TestFileModes: with umask 0022 and a 0755 data directory, the database,
// its -wal and -shm files, every other file the server writes and a backup
// are 0600, and the server warns about the directory, naming it.
func TestFileModes(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := servertest.StartIn(t, dir, "--issuer", issuer)
	k := testkit.NewKey(t)
	testkit.Do(t, "POST", srv.URL+"/v1/setup", "", testkit.SetupRequest(issuer, k, srv.SetupToken(t))).Want(t, 201, nil)
	if _, err := os.Stat(filepath.Join(dir, "chusme.db-wal")); err != nil {
		t.Fatalf("no WAL after a write: %v", err)
	}
	backupDir := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(backupDir, 0o755); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(backupDir, "copy.db")
	var out bytes.Buffer
	if err := server.Run(t.Context(), []string{"backup", "--to", to, "--data-dir", dir}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"chusme.db", "chusme.db-wal", "chusme.db-shm"} {
		if !slices.Contains(files, filepath.Join(dir, want)) {
			t.Fatalf("%s missing from %v", want, files)
		}
	}
	for _, f := range append(files, to) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", f, m)
		}
	}
	var warned bool
	for _, line := range strings.Split(srv.Logs(), "\n") {
		var rec struct{ Level, Msg, Path string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "WARN" && rec.Path == dir && strings.Contains(rec.Msg, "data directory") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning naming %s in the log:\n%s", dir, srv.Logs())
	}
}

// TestShortShutdownGrace: with --shutdown-grace under the five seconds
// http.Server waits for connections that never sent a request, shutdown
// still drains the request in flight and Run returns nil.
func TestShortShutdownGrace(t *testing.T) {
	srv := servertest.Start(t, "--shutdown-grace", "1s")
	addr := strings.TrimPrefix(srv.URL, "http://")
	idle, err := net.Dial("tcp", addr) // a preconnect that never sends a request
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	body := `{"fingerprint":"nobody"}`
	fmt.Fprintf(busy, "POST /v1/auth/challenge HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
	r := bufio.NewReader(busy)
	// 100 Continue: the handler runs and reads the body, the request is in flight.
	if cont, err := http.ReadResponse(r, nil); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue: %v %v", cont, err)
	}
	srv.Interrupt()
	srv.WaitLog(t, "shutting down")
	io.WriteString(busy, body)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("the request in flight was cut: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode/100 == 5 {
		t.Fatalf("the request in flight: status %d, %v", resp.StatusCode, err)
	}
	srv.Stop(t) // fails the test if Run returned an error
}

// TestReadyzDiskFull: with less free space in the data directory than
// --min-free-mb, /readyz answers 503 "disk full" with both figures and the
// log names the directory; with the default threshold it is ready and
// reports them too.
func TestReadyzDiskFull(t *testing.T) {
	type body struct {
		Status string
		Disk   *struct {
			Free    uint64 `json:"free_bytes"`
			MinFree uint64 `json:"min_free_bytes"`
		}
	}
	const huge = 1 << 40 // MiB: an exbibyte
	full := servertest.Start(t, "--min-free-mb", fmt.Sprint(huge))
	var got body
	testkit.Do(t, "GET", full.URL+"/readyz", "", nil).Want(t, 503, &got)
	if got.Status != "disk full" || got.Disk == nil || got.Disk.MinFree != huge<<20 || got.Disk.Free >= got.Disk.MinFree {
		t.Fatalf("/readyz with a threshold above the free space: %+v %+v", got, got.Disk)
	}
	if v, ok := full.Metrics(t)["chusme_ready"]; !ok || v != 0 {
		t.Errorf("chusme_ready with the disk full: %v (exported: %v)", v, ok)
	}
	if !strings.Contains(full.Logs(), `"path":"`+full.DataDir+`"`) {
		t.Errorf("the log does not name %s:\n%s", full.DataDir, full.Logs())
	}

	ok := servertest.Start(t)
	got = body{}
	testkit.Do(t, "GET", ok.URL+"/readyz", "", nil).Want(t, 200, &got)
	if got.Status != "ready" || got.Disk == nil || got.Disk.MinFree != 100<<20 || got.Disk.Free < got.Disk.MinFree {
		t.Fatalf("/readyz by default: %+v %+v", got, got.Disk)
	}
	if v := ok.Metrics(t)["chusme_ready"]; v != 1 {
		t.Errorf("chusme_ready when ready: %v", v)
	}
}

// TestRollback: back up, "upgrade" (a newer binary's migration recorded in
// the store), see this binary refuse the newer schema naming both versions,
// restore the backup and start on it: the administrator logs in.
func TestRollback(t *testing.T) {
	srv := servertest.Start(t, "--issuer", issuer)
	k := testkit.NewKey(t)
	testkit.Do(t, "POST", srv.URL+"/v1/setup", "", testkit.SetupRequest(issuer, k, srv.SetupToken(t))).Want(t, 201, nil)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := server.Run(t.Context(), args, func(string) string { return "" }, &out, &out)
		return out.String(), err
	}
	backup := filepath.Join(t.TempDir(), "before-upgrade.db")
	if out, err := run("backup", "--to", backup, "--data-dir", srv.DataDir); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	srv.Stop(t)

	const newer = 1 << 30
	store := filepath.Join(srv.DataDir, "chusme.db")
	db, err := sql.Open("sqlite", store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, newer); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out, err := run("--listen", "127.0.0.1:0", "--data-dir", srv.DataDir); err == nil || !errors.Is(err, sqlstore.ErrSchemaNewer) ||
		!strings.Contains(err.Error(), fmt.Sprintf("schema version %d, this binary knows up to", newer)) {
		t.Fatalf("start on a newer schema: %v\n%s", err, out)
	}

	if out, err := run("restore", "--from", backup, "--data-dir", srv.DataDir); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if fi, err := os.Stat(store); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored store: %v %v", fi, err)
	}
	if _, err := os.Stat(store + ".replaced"); err != nil {
		t.Fatalf("the replaced store was not kept: %v", err)
	}
	if out, err := run("restore", "--from", backup, "--data-dir", srv.DataDir); err == nil {
		t.Fatalf("a second restore overwrote chusme.db.replaced:\n%s", out)
	}
	again := servertest.StartIn(t, srv.DataDir, "--issuer", issuer)
	if tok := testkit.Login(t, again.URL, issuer, k); tok.AccessToken == "" {
		t.Fatal("no access token from the restored store")
	}
}

// TestRulesSeriesExported: every chusme_* series that
// deploy/prometheus/rules.yml uses is exported by a real server after a DKG,
// a signing, a refresh token reuse and a rate-limit rejection, and every
// chusme_* input series of rules_test.yml has the labels the server exports.
func TestRulesSeriesExported(t *testing.T) {
	rules, err := os.ReadFile("../../deploy/prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("../../deploy/prometheus/rules_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, "--registration", "open", "--refresh-grace", "0", "--rate-blob", "1/m:1")
	ms := srv.Members(t, 3)
	res := servertest.DKG(t, ms, 2)
	servertest.Sign(t, ms[0], ms, res, nil, []byte("rules"))
	k := testkit.NewKey(t)
	testkit.Do(t, "POST", srv.URL+"/v1/identities", "", testkit.RegisterRequest(srv.URL, k, "")).Want(t, 201, nil)
	first := testkit.Login(t, srv.URL, srv.URL, k)
	testkit.Do(t, "POST", srv.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: first.RefreshToken}).Want(t, 200, nil)
	testkit.Do(t, "POST", srv.URL+"/v1/auth/refresh", "", chusme.RefreshRequest{RefreshToken: first.RefreshToken}).Want(t, 401, nil)
	blob := srv.URL + "/v1/identities/" + testkit.Fingerprint(k) + "/blob"
	testkit.Do(t, "GET", blob, "", nil)
	testkit.Do(t, "GET", blob, "", nil).Want(t, 429, nil)

	exported := map[string]map[string]bool{} // series name → its label names
	for sample := range srv.Metrics(t) {
		name, labels, _ := strings.Cut(strings.TrimSuffix(sample, "}"), "{")
		if exported[name] == nil {
			exported[name] = map[string]bool{}
		}
		for _, kv := range strings.Split(labels, ",") {
			if k, _, ok := strings.Cut(kv, "="); ok {
				exported[name][k] = true
			}
		}
	}
	used := regexp.MustCompile(`\bchusme_[a-z0-9_]+`).FindAllString(string(rules), -1)
	if len(used) < 5 {
		t.Fatalf("rules.yml uses %d chusme_* series: %v", len(used), used)
	}
	for _, name := range used {
		if exported[name] == nil {
			t.Errorf("rules.yml uses %s, which the server does not export", name)
		}
	}
	inputs := regexp.MustCompile(`series: '(chusme_[a-z0-9_]+)\{([^}]*)\}'`).FindAllStringSubmatch(string(tests), -1)
	if len(inputs) < 5 {
		t.Fatalf("rules_test.yml has %d chusme_* input series", len(inputs))
	}
	for _, in := range inputs {
		for _, kv := range strings.Split(in[2], ",") {
			k, _, _ := strings.Cut(kv, "=")
			if k != "job" && k != "instance" && !exported[in[1]][k] {
				t.Errorf("rules_test.yml gives %s a label %q the server does not export (it has %v)", in[1], k, exported[in[1]])
			}
		}
	}
}
