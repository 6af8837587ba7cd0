package httpapi_test

import (
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/internal/servertest"
)

// The ceremony routes are charged to the caller's identity, not to its
// address: with the address's budget used up, an identity's ceremony
// requests still pass while its other requests are refused; requests of the
// ceremony routes whose credential fails are charged to the address, and
// once it has none left, they are refused before authenticating (a valid
// token from that address too).
func TestCeremonyRoutesChargedToIdentity(t *testing.T) {
	srv := servertest.Start(t, "--rate-ip", "1/h:3")
	a := &api{t: t, srv: srv}
	tok := a.login(a.setupAdmin()).AccessToken // setup, challenge, token: the address's 3
	a.do("GET", "/v1/me", tok, nil).Expect(t, 429, chusme.CodeRateLimited)
	for i := range 20 {
		if r := a.do("GET", "/v1/ceremonies", tok, nil); r.Status != 200 {
			t.Fatalf("ceremony list %d with the address's budget used up: %d %s", i, r.Status, r.Body)
		}
	}
	for range 3 {
		a.do("GET", "/v1/ceremonies", "", nil).Expect(t, 401, chusme.CodeUnauthorized)
	}
	a.do("GET", "/v1/ceremonies", "", nil).Expect(t, 429, chusme.CodeRateLimited)
	a.do("GET", "/v1/ceremonies", tok, nil).Expect(t, 429, chusme.CodeRateLimited)
}
