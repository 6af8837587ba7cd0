package client_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme/internal/servertest"
)

// lyingProxy stands in front of the real server as a compromised server
// would: it records every request a client sends through it and rewrites
// the answers the client reads with lie. It does not carry WebSockets: the
// clients behind it run their ceremonies over HTTP.
type lyingProxy struct {
	URL string

	mu   sync.Mutex
	lie  func(path string, body []byte) []byte // the answer to send instead, or nil to relay it
	sent []sentRequest
}

// sentRequest is a request that went through the proxy, a protobuf body
// (a submission) as its JSON.
type sentRequest struct {
	method, path string
	body         []byte
}

func newLyingProxy(t *testing.T, target string) *lyingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &lyingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		p.mu.Lock()
		lie := p.lie
		p.mu.Unlock()
		if lie == nil || r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		// A protobuf answer is lied about as its JSON, and sent back as
		// protobuf: what the client reads is the lie in either form.
		path, pb := r.Request.URL.Path, servertest.IsProtobuf(r.Header)
		js := body
		if pb {
			if js, err = servertest.AnswerToJSON(path, body); err != nil {
				return err
			}
		}
		if b := lie(path, js); b != nil {
			if pb {
				if b, err = servertest.AnswerFromJSON(path, b); err != nil {
					return err
				}
			}
			body = b
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sent := body
		if servertest.IsProtobuf(r.Header) { // recorded as its JSON
			if sent, err = servertest.SubmissionToJSON(body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		p.mu.Lock()
		p.sent = append(p.sent, sentRequest{r.Method, r.URL.Path, sent})
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// setLie makes the proxy rewrite answers with lie (nil: relay them as they
// are).
func (p *lyingProxy) setLie(lie func(path string, body []byte) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lie = lie
}

// requests returns the requests with method sent through the proxy whose
// path contains part, and forgets every request recorded.
func (p *lyingProxy) requests(method, part string) []sentRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []sentRequest
	for _, r := range p.sent {
		if r.method == method && strings.Contains(r.path, part) {
			out = append(out, r)
		}
	}
	p.sent = nil
	return out
}

// lies chains rewrites: each one that matches the path rewrites the answer
// as the previous ones left it.
func lies(fs ...func(path string, body []byte) []byte) func(string, []byte) []byte {
	return func(path string, body []byte) []byte {
		changed := false
		for _, f := range fs {
			if b := f(path, body); b != nil {
				body, changed = b, true
			}
		}
		if !changed {
			return nil
		}
		return body
	}
}

// rewriteJSON returns a rewrite of the JSON answers (of type T) at paths
// that match: f changes the decoded answer, which is sent re-encoded.
func rewriteJSON[T any](t *testing.T, match func(path string) bool, f func(path string, v *T)) func(string, []byte) []byte {
	return func(path string, body []byte) []byte {
		if !match(path) {
			return nil
		}
		var v T
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("proxy: decoding the answer of %s: %v", path, err)
			return nil
		}
		f(path, &v)
		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("proxy: encoding the answer of %s: %v", path, err)
			return nil
		}
		return b
	}
}
