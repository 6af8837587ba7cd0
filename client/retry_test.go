package client_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// rejections returns the server's rate-limit refusals so far, by scope.
func rejections(t *testing.T, srv *servertest.Server) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, v := range srv.Metrics(t) {
		if scope, ok := strings.CutPrefix(k, `chusme_rate_limit_rejections_total{scope="`); ok {
			out[strings.TrimSuffix(scope, `"}`)] = v
		}
	}
	return out
}

// TestDKG7of10OneAddress: ten participants on one address (every client
// here is on 127.0.0.1), with the server's default limits, register, log
// in and run a 7-of-10 DKG to completion, all with the same group key. The
// ceremony traffic, charged to each identity, is never refused; the public
// chain reads of the drivers (10 × 10, per address) may meet the address's
// limit, whose 429s the drivers wait out (how many depends on timing: it
// is logged).
func TestDKG7of10OneAddress(t *testing.T) {
	srv := servertest.StartWithDefaultLimits(t, "--registration", "open")
	ms := srv.Members(t, 10) // 10 registrations and logins: 30 requests of --rate-auth's
	res := servertest.DKG(t, ms, 7)
	for i, r := range res {
		if r.KeyID != res[0].KeyID || !bytes.Equal(r.PublicKeyPackage.VerifyingKey().Bytes(), res[0].PublicKeyPackage.VerifyingKey().Bytes()) {
			t.Fatalf("member %d computed key %s, member 0 %s", i, r.KeyID, res[0].KeyID)
		}
	}
	k, err := ms[9].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil || k.Threshold != 7 || len(k.Participants) != 10 {
		t.Fatalf("the stored group key: %+v, %v", k, err)
	}
	got := rejections(t, srv)
	t.Logf("rate-limit refusals by scope: %v", got)
	for scope, n := range got {
		if scope != "ip" && n > 0 {
			t.Errorf("%v requests refused by the %s limit: the ceremony traffic of ten identities on one address must fit the defaults", n, scope)
		}
	}
}

// TestDriverWaitsOut429: a driver whose submission is refused with 429 (a
// session's submit limit of one per 2 s, its token taken just before) waits
// for the answer's Retry-After and sends it again instead of giving up.
func TestDriverWaitsOut429(t *testing.T) {
	srv := servertest.Start(t, "--registration", "open", "--rate-ceremony-submit", "30/m:1")
	ms := srv.Members(t, 2)
	junk := "/v1/ceremonies/" + strings.Repeat("a", 32) + "/rounds/1"
	testkit.Do(t, "POST", srv.URL+junk, ms[0].Access(t), []byte(`{}`)).Want(t, http.StatusNotFound, nil) // takes the session's token
	res := servertest.DKG(t, ms, 2)
	if res[0].KeyID != res[1].KeyID {
		t.Fatalf("keys %s and %s", res[0].KeyID, res[1].KeyID)
	}
	if n := rejections(t, srv)["ceremony_submit"]; n < 1 {
		t.Fatalf("%v submissions refused, want at least the first one of member 0 (waited out)", n)
	}
}
