package client_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
)

// serverCount sums the server's counter metric name over the series whose
// label label contains part.
func serverCount(t *testing.T, s *servertest.Server, name, label, part string) int {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		labels, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		_, v, _ := strings.Cut(labels, label+`="`)
		v, _, _ = strings.Cut(v, `"`)
		if !strings.Contains(v, part) {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(f)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// wsParticipant is a logged-in identity whose ceremony requests go over
// its realtime connection.
type wsParticipant struct {
	fp  string
	key ed25519.PrivateKey
	c   *client.Client
}

func wsParticipants(t *testing.T, s *servertest.Server, n int) []*wsParticipant {
	t.Helper()
	ctx := t.Context()
	var out []*wsParticipant
	for i := range n {
		r := register(t, s, i == 0)
		p := &wsParticipant{fp: r.fp, key: r.key, c: r.c}
		ch, onState := states()
		rt := p.c.Realtime(ctx, client.RealtimeOptions{CeremonyAPI: true, OnState: onState})
		t.Cleanup(rt.Close)
		want(t, ch, true)
		out = append(out, p)
	}
	return out
}

// A 2-of-2 DKG and a signing run with every ceremony request on the
// participants' WebSockets: the server counts no HTTP request on its
// /v1/ceremonies routes, and the signature verifies as plain Ed25519 under
// the group key.
func TestCeremoniesOverWebSocketOnly(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	ps := wsParticipants(t, s, 2)
	fps := []string{ps[0].fp, ps[1].fp}
	httpBefore := serverCount(t, s, "chusme_http_requests_total", "route", "/v1/ceremonies")
	wsBefore := serverCount(t, s, "chusme_ws_messages_total", "kind", "ceremony_submit")

	info, err := ps[0].c.StartDKG(ctx, ps[0].key, 2, fps)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]*client.DKGResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { res[i], errs[i] = p.c.RunDKG(ctx, info.ID, p.key, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("participant %d: RunDKG: %v", i, err)
		}
		defer res[i].KeyPackage.Zero()
	}

	msg := []byte("pay 5 EUR to Bob, over the WebSocket")
	sinfo, err := ps[1].c.StartSign(ctx, ps[1].key, res[0].KeyID, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sigs := make([][]byte, 2)
	approve := func(context.Context, client.SignRequest) (bool, error) { return true, nil }
	for i, p := range ps {
		wg.Go(func() {
			sigs[i], errs[i] = p.c.RunSign(ctx, sinfo.ID, p.key, res[i].KeyID, res[i].KeyPackage, approve, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("participant %d: RunSign: %v", i, err)
		}
	}
	gk, err := ps[0].c.GroupKey(ctx, res[0].KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(ed25519.PublicKey(gk.PublicKey), msg, sigs[0]) || string(sigs[0]) != string(sigs[1]) {
		t.Fatal("the signature does not verify under the group key (or the signers got different ones)")
	}

	// Cancel and list go over the WebSocket too.
	open, err := ps[0].c.StartSign(ctx, ps[0].key, res[0].KeyID, []byte("never mind"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ps[0].c.CancelCeremony(ctx, open.ID); err != nil || got.Status != chusme.CeremonyCancelled {
		t.Fatalf("CancelCeremony: %v, %v", got.Status, err)
	}
	list, err := ps[1].c.Ceremonies(ctx, "")
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
