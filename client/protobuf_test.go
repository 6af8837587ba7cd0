package client_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// TestProtobufFallsBackToJSON: against a server older than the protobuf
// ceremony routes, which reads every body as JSON and answers JSON, a
// driver's first protobuf submission is refused as invalid_json; the client
// sends it again in JSON, and everything after in JSON, and the DKG
// completes.
func TestProtobufFallsBackToJSON(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 2)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var protobufBodies, jsonSubmissions atomic.Int32
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if servertest.IsProtobuf(r.Header) {
			protobufBodies.Add(1)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"type":"about:blank","title":"Bad Request","status":400,"code":"invalid_json","detail":"request body is not valid JSON for this request"}`))
			return
		}
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/rounds/") {
			jsonSubmissions.Add(1)
		}
		r.Header.Set("Accept", "application/json, application/problem+json") // what it knows
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)
	ms[0] = servertest.NewMember(t, old.URL, ms[0].Key, client.WithIssuer(s.URL))
	ms[0].Login(t)
	res := servertest.DKG(t, ms, 2)
	if res[0].KeyID != res[1].KeyID {
		t.Fatalf("key ids %s and %s", res[0].KeyID, res[1].KeyID)
	}
	if got := protobufBodies.Load(); got != 1 {
		t.Errorf("%d protobuf bodies sent to the old server, want 1 (then JSON)", got)
	}
	if got := jsonSubmissions.Load(); got != 3 {
		t.Errorf("%d JSON submissions, want 3 (one per DKG round)", got)
	}
}
