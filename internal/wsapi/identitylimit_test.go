package wsapi_test

import (
	"testing"

	"github.com/chusme/chusme"
	chusmev1 "github.com/chusme/chusme/proto/chusme/v1"
)

// The WebSocket's ceremony requests are charged to the identity, as the
// HTTP API's ceremony routes are, not to the address: once the address's
// budget is used up (by server info requests, which stay per IP), the
// ceremony API still answers.
func TestCeremonyRequestsChargedToIdentity(t *testing.T) {
	srv, us := world(t, 1, "--rate-ip", "1/h:16")
	ws := connect(t, srv, us[1])
	info := func() *chusmev1.Envelope {
		return &chusmev1.Envelope{Payload: &chusmev1.Envelope_ServerInfoRequest{ServerInfoRequest: &chusmev1.ServerInfoRequest{}}}
	}
	for i := 0; ask(t, ws, info()).GetError().GetCode() != chusme.CodeRateLimited; i++ {
		if i == 16 {
			t.Fatal("16 server info requests from one address, none refused by the per-IP limit")
		}
	}
	for i := range 20 {
		if ans := ask(t, ws, listReq("")); ans.GetCeremonyList() == nil {
			t.Fatalf("ceremony list %d with the address's budget used up: %v", i, ans)
		}
	}
}
