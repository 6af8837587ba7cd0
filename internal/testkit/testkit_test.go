package testkit

import (
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
)

// The clock is moved and read from many goroutines at once (the race
// detector watches), and no move is lost.
func TestClockConcurrent(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	c := NewClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Add(time.Second)
				c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now().Sub(start); got != 800*time.Second {
		t.Fatalf("the clock moved %v, want 800s", got)
	}
}

// Do sends the body as JSON with the bearer token; Want and Expect read the
// answers.
func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(401)
			json.NewEncoder(w).Encode(chusme.Problem{Status: 401, Code: chusme.CodeUnauthorized})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"method": r.Method, "body": string(body)})
	}))
	defer srv.Close()
	var got map[string]string
	Do(t, "PUT", srv.URL, "tok", chusme.ChallengeRequest{Fingerprint: "ab"}).Want(t, 200, &got)
	if got["method"] != "PUT" || got["body"] != `{"fingerprint":"ab"}` {
		t.Fatalf("the server saw %v", got)
	}
	Do(t, "GET", srv.URL, "", nil).Expect(t, 401, chusme.CodeUnauthorized)
}

// The signed requests verify under the key, for the issuer they name.
func TestRequests(t *testing.T) {
	k := NewKey(t)
	if !ed25519.Verify(Public(k), chusme.RegisterMessage("https://i.test", Public(k)), RegisterRequest("https://i.test", k, "").Signature) {
		t.Error("the registration does not verify")
	}
	if s := SetupRequest("https://i.test", k, "tok"); s.SetupToken != "tok" || !ed25519.Verify(Public(k), chusme.RegisterMessage("https://i.test", Public(k)), s.Signature) {
		t.Error("the setup request does not verify")
	}
	nonce := make([]byte, 32)
	if !ed25519.Verify(Public(k), chusme.LoginMessage("https://i.test", "id", nonce), TokenRequest("https://i.test", k, "id", nonce).Signature) {
		t.Error("the token request does not verify")
	}
}
