package ceremony_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// A 3-of-5 DKG and a signing, every participant connected over the
// WebSocket: the drivers follow the pushed events, and the server sees no
// ceremony status request (no long-poll) at all; the signers take round 1's
// commitments from the event that opens round 2 and fetch no inbox.
func TestDKGAndSigningDrivenByPushedEvents(t *testing.T) {
	p := newParty(t, 5)
	ms := p.members
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make([]chan chusme.CeremonyInfo, len(ms))
	for i, m := range ms {
		up := make(chan struct{}, 1)
		events[i] = make(chan chusme.CeremonyInfo, 64)
		rt := m.Client.Realtime(ctx, client.RealtimeOptions{
			OnState: func(connected bool, _ error) {
				if connected {
					select {
					case up <- struct{}{}:
					default:
					}
				}
			},
			OnEvent: func(info chusme.CeremonyInfo) {
				select {
				case events[i] <- info:
				default:
				}
			},
		})
		t.Cleanup(rt.Close)
		select {
		case <-up:
		case <-time.After(10 * time.Second):
			t.Fatalf("member %d: no WebSocket", i)
		}
	}
	res := servertest.DKG(p.t, ms, 3)
	inboxes := strings.Count(p.srv.Logs(), `"route":"GET /v1/ceremonies/{id}/rounds/{n}/inbox"`)
	msg := []byte("pushed, not polled")
	sig, _ := servertest.Sign(p.t, ms[0], ms, res, []int{0, 2, 4}, msg)
	if n := strings.Count(p.srv.Logs(), `"route":"GET /v1/ceremonies/{id}/rounds/{n}/inbox"`) - inboxes; n != 0 {
		t.Errorf("the signers fetched %d inboxes, want 0 (round 1's is pushed)", n)
	}
	gk, err := ms[1].Client.GroupKey(t.Context(), res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sig) {
		t.Fatal("signature does not verify under the group key")
	}
	if n := strings.Count(p.srv.Logs(), `"route":"GET /v1/ceremonies/{id}"`); n != 0 {
		t.Errorf("%d ceremony status requests (polling) in the server log, want 0", n)
	}
	// Every participant saw the DKG complete through an event.
	for i := range ms {
		saw := false
		for len(events[i]) > 0 {
			if info := <-events[i]; info.Kind == chusme.KindDKG && info.Status == chusme.CeremonyCompleted {
				saw = true
			}
		}
		if !saw {
			t.Errorf("member %d saw no completed-DKG event", i)
		}
	}
}
