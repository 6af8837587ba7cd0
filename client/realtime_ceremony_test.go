package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/frost"
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

// Every state a realtime connection delivers over a DKG, most of them
// built from pushed changes, is exact: versions increase, and while open
// who is missing is the participants that have not submitted, as many as
// still needed.
func TestPushedChangesGiveExactStates(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 4)
	var mu sync.Mutex
	var seen []chusme.CeremonyInfo
	for i, m := range ms {
		opts := client.RealtimeOptions{}
		if i == 0 {
			opts.OnEvent = func(info chusme.CeremonyInfo) {
				mu.Lock()
				seen = append(seen, info)
				mu.Unlock()
			}
		}
		ch, onState := states()
		opts.OnState = onState
		rt := m.Client.Realtime(t.Context(), opts)
		t.Cleanup(rt.Close)
		want(t, ch, true)
	}
	res := servertest.DKG(t, ms, 3)
	final, err := ms[0].Client.Ceremony(t.Context(), res[0].Ceremony.ID)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var last int64
	for _, info := range seen {
		if info.ID != final.ID {
			continue
		}
		if info.Version <= last {
			t.Errorf("version %d after %d", info.Version, last)
		}
		last = info.Version
		if info.Status != chusme.CeremonyOpen {
			continue
		}
		missing := slices.DeleteFunc(slices.Clone(info.Participants), func(fp string) bool { return slices.Contains(info.Submitted, fp) })
		if !slices.IsSorted(info.Submitted) || !reflect.DeepEqual(info.Missing, missing) || info.Needed != len(missing) {
			t.Errorf("version %d: submitted %v, missing %v, needed %d; want missing %v", info.Version, info.Submitted, info.Missing, info.Needed, missing)
		}
	}
	if last != final.Version {
		t.Errorf("the last state delivered is version %d, the ceremony's %d", last, final.Version)
	}
}

// A pushed change that does not follow the newest state the client knows
// (it missed one) makes it ask for the ceremony: it then has the server's
// state.
func TestMissedChangeResyncs(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	ch, onState := states()
	rt := ms[0].Client.Realtime(ctx, client.RealtimeOptions{OnState: onState})
	t.Cleanup(rt.Close)
	want(t, ch, true)
	info, err := ms[0].Client.StartDKG(ctx, ms[0].Key, 2, servertest.Fingerprints(ms))
	if err != nil {
		t.Fatal(err)
	}
	if info, err = rt.WaitCeremony(ctx, info.ID, 0); err != nil {
		t.Fatal(err)
	}
	client.MissChange(rt, info.ID)
	fid, err := frost.DeriveIdentifier([]byte(ms[1].Fingerprint))
	if err != nil {
		t.Fatal(err)
	}
	secret, pkg, err := frost.DKGPart1(nil, fid, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	secret.Zero()
	b, _ := pkg.MarshalBinary()
	payload := chusme.DKGRound1Payload(bytes.Repeat([]byte{7}, chusme.HPKEPublicKeySize), b)
	if _, err := ms[1].Client.Submit(ctx, info.ID, 1, chusme.SubmitRequest{Payload: payload,
		Signature: ed25519.Sign(ms[1].Key, chusme.CeremonyPackageMessage(info.ID, 1, ms[1].Fingerprint, "", payload))}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := rt.WaitCeremony(wctx, info.ID, info.Version)
	if err != nil {
		t.Fatalf("no state after the missed change: %v", err)
	}
	stored, err := ms[0].Client.Ceremony(ctx, info.ID)
	if err != nil || !reflect.DeepEqual(got, stored) {
		t.Fatalf("after the missed change the client has\n%+v\nthe server\n%+v (%v)", got, stored, err)
	}
}
