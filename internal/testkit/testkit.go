// Package testkit holds the set-up that tests of many packages share and
// that needs no server: Ed25519 keys, a fake clock, a buffer safe for
// concurrent writers and JSON requests over HTTP. (internal/servertest
// starts the real server and sets up its identities.)
package testkit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// NewKey returns a new Ed25519 private key drawn from crypto/rand.
func NewKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Public returns k's public key, as plain bytes so that it fits both
// ed25519.PublicKey and chusme.Bytes.
func Public(k ed25519.PrivateKey) []byte { return k.Public().(ed25519.PublicKey) }

// Fingerprint returns the fingerprint of k's public key.
func Fingerprint(k ed25519.PrivateKey) string { return chusme.Fingerprint(Public(k)) }

// Clock is a fake clock that tests move by hand; it is safe for concurrent
// use, as services read it from their own goroutines.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Buffer is a bytes.Buffer safe to read while other goroutines write it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reply is an HTTP answer read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends an HTTP request to url with an optional bearer token and returns
// the answer. body is sent as it is if it is a []byte or a string, as JSON
// otherwise, and not at all if it is nil.
func Do(t testing.TB, method, url, token string, body any) Reply {
	t.Helper()
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
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return Send(t, req)
}

// Send sends req with the default client and returns the answer.
func Send(t testing.TB, req *http.Request) Reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Reply{resp.StatusCode, resp.Header, data}
}

// Want fails the test unless the reply has the given status and, if out is
// not nil, a JSON body that decodes into out.
func (r Reply) Want(t testing.TB, status int, out any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("status %d: %v: %s", r.Status, err, r.Body)
	}
}

// Problem decodes a problem+json reply, failing the test unless it is one
// and its status is the reply's.
func (r Reply) Problem(t testing.TB) chusme.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (status %d, body %s)", ct, r.Status, r.Body)
	}
	var p chusme.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, r.Body)
	}
	if p.Status != r.Status {
		t.Fatalf("problem status %d, HTTP status %d", p.Status, r.Status)
	}
	return p
}

// Expect fails the test unless the reply is a problem with the given status
// and code; a 429 must also carry a Retry-After of at least one second.
func (r Reply) Expect(t testing.TB, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); status == http.StatusTooManyRequests && (err != nil || secs < 1) {
		t.Fatalf("429 with Retry-After %q, want whole seconds ≥ 1", r.Header.Get("Retry-After"))
	}
	if p := r.Problem(t); p.Code != code {
		t.Fatalf("code %q, want %q (%s)", p.Code, code, p.Detail)
	}
}

// WantCode fails the test unless err carries the error code code ("": err
// is nil or carries none).
func WantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := chusme.ErrorCode(err); got != code {
		t.Fatalf("error %v (code %q), want %q", err, got, code)
	}
}
