package client_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// serverCount sums the server's counter metric name over the series whose
// label label contains part.
func serverCount(t *testing.T, s *servertest.Server, name, label, part string) int {
	t.Helper()
	return int(s.Metrics(t).Sum(name, func(labels string) bool {
		_, v, _ := strings.Cut(labels, label+`="`)
		v, _, _ = strings.Cut(v, `"`)
		return strings.Contains(v, part)
	}))
}

// wsParticipants are s's members (see servertest.Server.Members), each
// with a realtime connection carrying its ceremony requests.
func wsParticipants(t *testing.T, s *servertest.Server, n int) []*servertest.Member {
	t.Helper()
	ms := s.Members(t, n)
	for _, m := range ms {
		ch, onState := states()
		rt := m.Client.Realtime(t.Context(), client.RealtimeOptions{CeremonyAPI: true, OnState: onState})
		t.Cleanup(rt.Close)
		want(t, ch, true)
	}
	return ms
}

// A 2-of-2 DKG and a signing run with every ceremony request on the
// participants' WebSockets: the server counts no HTTP request on its
// /v1/ceremonies routes, and the signature verifies as plain Ed25519 under
// the group key.
func TestCeremoniesOverWebSocketOnly(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ps := wsParticipants(t, s, 2)
	httpBefore := serverCount(t, s, "chusme_http_requests_total", "route", "/v1/ceremonies")
	wsBefore := serverCount(t, s, "chusme_ws_messages_total", "kind", "ceremony_submit")

	res := servertest.DKG(t, ps, 2)
	msg := []byte("pay 5 EUR to Bob, over the WebSocket")
	sig, sinfo := servertest.Sign(t, ps[1], ps, res, nil, msg)
	gk, err := ps[0].Client.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
		t.Fatal("the signature does not verify under the group key")
	}

	// Cancel and list go over the WebSocket too.
	open, err := ps[0].Client.StartSign(ctx, ps[0].Key, res[0].KeyID, []byte("never mind"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ps[0].Client.CancelCeremony(ctx, open.ID); err != nil || got.Status != chusme.CeremonyCancelled {
		t.Fatalf("CancelCeremony: %v, %v", got.Status, err)
	}
	list, err := ps[1].Client.Ceremonies(ctx, "")
	if err != nil || len(list) != 3 || list[0].ID != open.ID || list[0].Status != chusme.CeremonyCancelled ||
		list[1].ID != sinfo.ID || list[1].Status != chusme.CeremonyCompleted {
		t.Fatalf("Ceremonies: %d ceremonies, %v", len(list), err)
	}

	if n := serverCount(t, s, "chusme_http_requests_total", "route", "/v1/ceremonies") - httpBefore; n != 0 {
		t.Errorf("the participants made %d HTTP requests on /v1/ceremonies routes, want 0", n)
	}
	// 2 participants × (3 DKG rounds + 2 signing rounds)
	if n := serverCount(t, s, "chusme_ws_messages_total", "kind", "ceremony_submit") - wsBefore; n != 10 {
		t.Errorf("the server served %d submissions over the WebSocket, want 10", n)
	}
}
