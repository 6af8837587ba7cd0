package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/testkit"
	"github.com/chusme/chusme/keys"
)

// fakeServer answers the parts of the API these unit tests need. The real
// server is exercised by the integration tests.
type fakeServer struct {
	t       *testing.T
	srv     *httptest.Server
	issuer  string // advertised; the server's URL if empty
	refresh atomic.Int32
	meCalls atomic.Int32
	infos   atomic.Int32 // GET /v1/server answered

	mu       sync.Mutex
	pub      ed25519.PublicKey
	nonce    []byte
	access   string // the one access token accepted
	refreshT string // the one refresh token accepted
	n        int
	expireMe bool // answer the next /v1/me with token_expired
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/server", func(w http.ResponseWriter, r *http.Request) {
		f.infos.Add(1)
		iss := f.issuer
		if iss == "" {
			iss = f.srv.URL
		}
		writeJSON(w, 200, chusme.ServerInfo{Name: "fake", Issuer: iss})
	})
	mux.HandleFunc("POST /v1/identities", func(w http.ResponseWriter, r *http.Request) {
		var req chusme.RegisterRequest
		json.NewDecoder(r.Body).Decode(&req)
		if keys.Verify(req.PublicKey, chusme.RegisterMessage(f.advertised(), req.PublicKey), req.Signature) != nil {
			writeProblem(w, 401, chusme.CodeInvalidSignature, "bad signature")
			return
		}
		f.mu.Lock()
		f.pub = ed25519.PublicKey(req.PublicKey)
		f.mu.Unlock()
		writeJSON(w, 201, chusme.IdentityInfo{Fingerprint: chusme.Fingerprint(req.PublicKey), PublicKey: req.PublicKey, Role: "user", Status: "active"})
	})
	mux.HandleFunc("POST /v1/auth/challenge", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.nonce = []byte("nonce-0123456789")
		writeJSON(w, 200, chusme.ChallengeResponse{ChallengeID: "ch1", Nonce: f.nonce, ExpiresAt: time.Now().Add(time.Minute)})
	})
	mux.HandleFunc("POST /v1/auth/token", func(w http.ResponseWriter, r *http.Request) {
		var req chusme.TokenRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.pub == nil || keys.Verify(f.pub, chusme.LoginMessage(f.advertised(), req.ChallengeID, f.nonce), req.Signature) != nil {
			writeProblem(w, 401, chusme.CodeInvalidSignature, "bad signature")
			return
		}
		writeJSON(w, 200, f.issueLocked())
	})
	mux.HandleFunc("POST /v1/auth/refresh", func(w http.ResponseWriter, r *http.Request) {
		f.refresh.Add(1)
		var req chusme.RefreshRequest
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		defer f.mu.Unlock()
		if req.RefreshToken != f.refreshT {
			writeProblem(w, 401, chusme.CodeRefreshReused, "refresh token reused; session revoked")
			return
		}
		writeJSON(w, 200, f.issueLocked())
	})
	mux.HandleFunc("GET /v1/me", func(w http.ResponseWriter, r *http.Request) {
		f.meCalls.Add(1)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.expireMe {
			f.expireMe = false
			writeProblem(w, 401, chusme.CodeTokenExpired, "access token expired")
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+f.access {
			writeProblem(w, 401, chusme.CodeTokenInvalid, "bad token")
			return
		}
		writeJSON(w, 200, chusme.Me{Fingerprint: chusme.Fingerprint(f.pub), Role: "user", SessionID: "s1"})
	})
	mux.HandleFunc("GET /v1/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, maxResponseSize+10))
	})
	mux.HandleFunc("GET /v1/teapot", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) advertised() string {
	if f.issuer != "" {
		return f.issuer
	}
	return f.srv.URL
}

func (f *fakeServer) issueLocked() chusme.TokenResponse {
	f.n++
	f.access = fmt.Sprintf("access-%d", f.n)
	f.refreshT = fmt.Sprintf("refresh-%d", f.n)
	return chusme.TokenResponse{AccessToken: f.access, TokenType: "Bearer", ExpiresIn: 900, RefreshToken: f.refreshT, SessionID: "s1"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(chusme.Problem{Title: http.StatusText(status), Status: status, Code: code, Detail: detail})
}

// loggedIn returns a client registered and logged in with the fake server.
func loggedIn(t *testing.T, f *fakeServer, opts ...Option) *Client {
	t.Helper()
	c, err := New(f.srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	key := testkit.NewKey(t)
	ctx := t.Context()
	if _, err := c.Register(ctx, key, ""); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := c.Login(ctx, key); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return c
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1984":    "http://127.0.0.1:1984",
		"http://127.0.0.1:1984/":   "http://127.0.0.1:1984",
		"HTTPS://Example.COM:443/": "https://example.com",
		"http://example.com:80":    "http://example.com",
		"https://example.com:8443": "https://example.com:8443",
		"http://[::1]:1984":        "http://[::1]:1984",
	} {
		if got, err := NormalizeURL(in); err != nil || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "127.0.0.1:1984", "ftp://x", "http://", "http://x/path", "http://u:p@x", "http://x?q=1", "http://x#f", "http://:80"} {
		if got, err := NormalizeURL(in); err == nil {
			t.Errorf("NormalizeURL(%q) = %q, want an error", in, got)
		}
	}
}

func TestServerErrorsBecomeChusmeErrors(t *testing.T) {
	f := newFakeServer(t)
	c, err := New(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(t.Context(), testkit.NewKey(t)) // unknown key
	var ce *chusme.Error
	if !errors.As(err, &ce) || ce.Code != chusme.CodeInvalidSignature || ce.Message != "bad signature" {
		t.Fatalf("Login = %#v, want *chusme.Error{invalid_signature, bad signature}", err)
	}
}

func TestNonProblemErrorsStayGoErrors(t *testing.T) {
	f := newFakeServer(t)
	c, _ := New(f.srv.URL)
	err := c.call(t.Context(), "GET", "/v1/teapot", "", nil, nil)
	var ce *chusme.Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "418") {
		t.Fatalf("call = %v, want a plain error naming the status", err)
	}
	f.srv.Close()
	if _, err := c.ServerInfo(t.Context()); err == nil || errors.As(err, &ce) {
		t.Fatalf("ServerInfo on a closed server = %v, want a plain error", err)
	}
}

func TestResponseSizeLimited(t *testing.T) {
	f := newFakeServer(t)
	c, _ := New(f.srv.URL)
	var v any
	if err := c.call(t.Context(), "GET", "/v1/big", "", nil, &v); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("call = %v, want a size error", err)
	}
}

func TestRefusesToSignForAnotherIssuer(t *testing.T) {
	f := newFakeServer(t)
	f.issuer = "https://other.example"
	c, _ := New(f.srv.URL)
	for name, sign := range map[string]func() error{
		"login":    func() error { _, err := c.Login(t.Context(), testkit.NewKey(t)); return err },
		"register": func() error { _, err := c.Register(t.Context(), testkit.NewKey(t), ""); return err },
		"setup":    func() error { _, err := c.Setup(t.Context(), "tok", testkit.NewKey(t)); return err },
	} {
		err := sign()
		if err == nil || !strings.Contains(err.Error(), "https://other.example") || !strings.Contains(err.Error(), f.srv.URL) {
			t.Errorf("%s = %v; want an error naming both issuers", name, err)
		}
		var ce *chusme.Error
		if errors.As(err, &ce) {
			t.Errorf("%s: issuer mismatch is a *chusme.Error %v", name, ce)
		}
	}
}

func TestIssuerCheckedOncePerClient(t *testing.T) {
	f := newFakeServer(t)
	c := loggedIn(t, f)
	key := testkit.NewKey(t)
	f.mu.Lock()
	f.pub = key.Public().(ed25519.PublicKey)
	f.mu.Unlock()
	before := f.infos.Load()
	for range 3 {
		if _, err := c.Login(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.infos.Load() - before; n != 0 {
		t.Fatalf("three logins after a matching issuer fetched the server description %d more times; want 0", n)
	}
}

func TestSignsForConfiguredIssuer(t *testing.T) {
	f := newFakeServer(t)
	f.issuer = "https://id.example"
	c := loggedIn(t, f, WithIssuer("https://ID.example/"))
	if c.Issuer() != "https://id.example" {
		t.Fatalf("Issuer = %q", c.Issuer())
	}
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestNotLoggedIn(t *testing.T) {
	f := newFakeServer(t)
	c, _ := New(f.srv.URL)
	if _, err := c.Me(t.Context()); chusme.ErrorCode(err) != chusme.CodeUnauthorized || !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("Me = %v, want ErrNotLoggedIn", err)
	}
	if f.meCalls.Load() != 0 {
		t.Fatal("Me without tokens reached the server")
	}
}

func TestRefreshesOnTokenExpired(t *testing.T) {
	f := newFakeServer(t)
	c := loggedIn(t, f)
	f.mu.Lock()
	f.expireMe = true
	f.mu.Unlock()
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatalf("Me: %v", err)
	}
	if n := f.refresh.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	if n := f.meCalls.Load(); n != 2 {
		t.Fatalf("%d calls of /v1/me, want 2", n)
	}
}

func TestRefreshesAheadOfExpiry(t *testing.T) {
	f := newFakeServer(t)
	store := &MemoryTokenStore{}
	c := loggedIn(t, f, WithTokenStore(store))
	tok, _ := store.Load(t.Context())
	tok.AccessExpiresAt = time.Now().Add(RefreshMargin / 2)
	store.Save(t.Context(), tok)
	if _, err := c.Me(t.Context()); err != nil {
		t.Fatalf("Me: %v", err)
	}
	if n := f.refresh.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	if got, _ := store.Load(t.Context()); got.RefreshToken == tok.RefreshToken || got.Fingerprint != tok.Fingerprint {
		t.Fatalf("rotated tokens not saved: %+v", got)
	}
}

// Concurrent calls that all find the access token expired refresh once: the
// fake server treats a second presentation of a refresh token as reuse.
func TestConcurrentCallsRefreshOnce(t *testing.T) {
	f := newFakeServer(t)
	store := &MemoryTokenStore{}
	c := loggedIn(t, f, WithTokenStore(store))
	tok, _ := store.Load(t.Context())
	tok.AccessExpiresAt = time.Now().Add(-time.Minute)
	store.Save(t.Context(), tok)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.Me(context.Background())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Me: %v", err)
		}
	}
	if n := f.refresh.Load(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

func TestFileTokenStore(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "cfg", "session.json")
	s := NewFileTokenStore(path)
	if tok, err := s.Load(ctx); err != nil || tok != (Tokens{}) {
		t.Fatalf("Load of a missing file = %+v, %v", tok, err)
	}
	want := Tokens{AccessToken: "a", RefreshToken: "r", SessionID: "s", Fingerprint: "f", AccessExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != FileMode {
		t.Fatalf("stat = %v, %v", fi, err)
	}
	if got, err := NewFileTokenStore(path).Load(ctx); err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatalf("second Clear: %v", err)
	}
	if tok, err := s.Load(ctx); err != nil || tok != (Tokens{}) {
		t.Fatalf("Load after Clear = %+v, %v", tok, err)
	}
}

func TestForbiddenDependencies(t *testing.T) {
	for dep, bad := range map[string]bool{
		"github.com/chusme/chusme/internal/auth":              true,
		"modernc.org/sqlite":                                  true,
		"github.com/jackc/pgx/v5/pgconn":                      true,
		"database/sql":                                        true,
		"github.com/chusme/chusme/keys":                       false,
		"github.com/chusme/chusme/client/internal/atomicfile": false,
		"golang.org/x/crypto/argon2":                          false,
	} {
		if got := forbidden(dep) != ""; got != bad {
			t.Errorf("forbidden(%q) = %v, want %v", dep, got, bad)
		}
	}
}

// Tokens issued by one server are never sent to another.
func TestTokensBoundToServer(t *testing.T) {
	f := newFakeServer(t)
	store := &MemoryTokenStore{}
	loggedIn(t, f, WithTokenStore(store))
	if tok, _ := store.Load(t.Context()); tok.Server != f.srv.URL {
		t.Fatalf("Server = %q, want %q", tok.Server, f.srv.URL)
	}
	other := newFakeServer(t)
	c, _ := New(other.srv.URL, WithTokenStore(store))
	_, err := c.Me(t.Context())
	if chusme.ErrorCode(err) != chusme.CodeUnauthorized || !strings.Contains(err.Error(), f.srv.URL) {
		t.Fatalf("Me on another server = %v", err)
	}
	if _, err := c.Refresh(t.Context()); chusme.ErrorCode(err) != chusme.CodeUnauthorized {
		t.Fatalf("Refresh on another server = %v", err)
	}
	if other.meCalls.Load() != 0 || other.refresh.Load() != 0 {
		t.Fatal("tokens reached the other server")
	}
}
