package httpapi_test

import (
	"crypto/ed25519"
	"encoding/base32"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/auth"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// routes returns every documented route as "METHOD path", with each path
// parameter replaced by "x" (TestOpenAPIMatchesRoutes keeps the document and
// the route table in step).
func (a *api) routes() []string {
	a.t.Helper()
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	a.ok(200, "GET", "/v1/openapi.json", "", nil, &doc)
	param := regexp.MustCompile(`\{[^}]+\}`)
	var out []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				out = append(out, strings.ToUpper(method)+" "+param.ReplaceAllString(path, "x"))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestEvery429HasRetryAfter: every limit answers 429 rate_limited with a
// Retry-After of whole seconds ≥ 1 (testkit's Expect checks the header):
// the per-IP limits over every route, each route from its own address, and
// the per-identity, per-session and TOTP limits.
func TestEvery429HasRetryAfter(t *testing.T) {
	t.Run("per_ip_every_route", func(t *testing.T) {
		// The auth, blob and creation limits allow one request; the limit
		// of every request, two: the first two requests of a route pass
		// it, so the second one meets the route's own limit if it has one.
		srv := servertest.Start(t, "--trusted-proxies", "127.0.0.0/8", "--rate-ip", "1/h:2",
			"--rate-auth", "1/h:1", "--rate-blob", "1/h:1", "--rate-ceremony-create", "1/h:1")
		a := &api{t: t, srv: srv}
		var limited []string
		for i, rt := range a.routes() {
			method, path, _ := strings.Cut(rt, " ")
			ip := map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)}
			for n := 1; n <= 3; n++ {
				r := a.raw(method, path, "", []byte(`{}`), ip)
				if r.Status == 429 {
					r.Expect(t, 429, chusme.CodeRateLimited)
					if n == 2 {
						limited = append(limited, rt)
					}
					break
				}
				if n == 3 {
					t.Fatalf("%s: request 3 from one address answered %d, want 429 (the per-IP limit)", rt, r.Status)
				}
			}
		}
		want := []string{
			"GET /v1/identities/x/blob",
			"POST /v1/auth/challenge", "POST /v1/auth/refresh", "POST /v1/auth/token",
			"POST /v1/ceremonies",
			"POST /v1/identities", "POST /v1/identities/x/devices", "POST /v1/identities/x/devices/remove", "POST /v1/identities/x/recoveries", "POST /v1/identities/x/recovery-keys",
			"POST /v1/identities/x/rotations", "POST /v1/identities/x/rotations/x/cancel",
			"POST /v1/setup",
		}
		if !slices.Equal(limited, want) {
			t.Fatalf("routes refused by their own per-IP limit:\n%q\nwant\n%q", limited, want)
		}
	})
	t.Run("per_identity", func(t *testing.T) {
		srv := servertest.Start(t, "--rate-identity", "1/h:4")
		a := &api{t: t, srv: srv}
		tok := a.login(a.setupAdmin()).AccessToken
		for range 4 {
			if r := a.do("GET", "/v1/me", tok, nil); r.Status == 429 {
				r.Expect(t, 429, chusme.CodeRateLimited)
				return
			}
		}
		t.Fatal("the identity limit never refused")
	})
	t.Run("per_session_submissions", func(t *testing.T) {
		srv := servertest.Start(t, "--rate-ceremony-submit", "1/h:1")
		a := &api{t: t, srv: srv}
		tok := a.login(a.setupAdmin()).AccessToken
		path := "/v1/ceremonies/" + strings.Repeat("a", 32) + "/rounds/1"
		if r := a.do("POST", path, tok, `{}`); r.Status == 429 {
			t.Fatalf("first submission refused: %s", r.Body)
		}
		a.do("POST", path, tok, `{}`).Expect(t, 429, chusme.CodeRateLimited)
	})
	t.Run("totp", func(t *testing.T) {
		srv := servertest.Start(t, "--rate-totp", "1/h:1")
		a := &api{t: t, srv: srv}
		admin := a.setupAdmin()
		tok := a.login(admin).AccessToken
		fp := testkit.Fingerprint(admin)
		var en chusme.TOTPEnrolment
		a.ok(201, "POST", "/v1/me/totp", tok, nil, &en)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
		if err != nil {
			t.Fatal(err)
		}
		sig := ed25519.Sign(admin, chusme.TOTPConfirmMessage(srv.URL, fp, secret))
		a.ok(200, "POST", "/v1/me/totp/confirm", tok, chusme.TOTPConfirmRequest{Code: auth.TOTPCode(secret, time.Now()), Signature: sig}, nil)
		// The confirmation took the one attempt.
		a.loginAs(fp, admin, "000000", "").Expect(t, 429, chusme.CodeRateLimited)
		a.do("DELETE", "/v1/me/totp", tok, chusme.TOTPCodeRequest{Code: "000000"}).Expect(t, 429, chusme.CodeRateLimited)
	})
}
