package client_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chusme/chusme"
	"github.com/chusme/chusme/client"
	"github.com/chusme/chusme/internal/servertest"
	"github.com/chusme/chusme/internal/testkit"
)

// TestCeremonyHeadsSpareFetches: a driver whose verified peer keys are
// older than a minute asks the server for the participants' chain heads
// once (GET /v1/ceremonies/{id}/heads) and fetches no chain it has pinned
// at exactly the listed head; a listed head it has not seen makes it fetch
// that chain and verify it as always; a listed head that the fetched chain
// does not hold is refused, naming the identity, before anything is sent.
func TestCeremonyHeadsSpareFetches(t *testing.T) {
	ctx := t.Context()
	s := servertest.Start(t, "--registration", "open")
	victim, peer := register(t, s, true), register(t, s, false)
	proxy := newLyingProxy(t, s.URL)
	v := viaProxy(t, s, proxy, victim, &client.MemoryPinStore{})
	fetched := func() (chains []string, heads int) {
		for _, r := range proxy.requests(http.MethodGet, "") {
			switch {
			case strings.HasSuffix(r.path, "/chain"):
				chains = append(chains, strings.Split(r.path, "/")[3])
			case strings.HasSuffix(r.path, "/heads"):
				heads++
			}
		}
		slices.Sort(chains)
		return chains, heads
	}
	both := []string{victim.fp, peer.fp}
	slices.Sort(both)

	dkg2(t, peer, v)
	if chains, heads := fetched(); !slices.Equal(chains, both) || heads != 1 {
		t.Fatalf("first DKG: chains of %v and %d heads requests, want %v and 1", chains, heads, both)
	}
	dkg2(t, peer, v)
	if chains, heads := fetched(); chains != nil || heads != 0 {
		t.Fatalf("DKG within a minute: chains of %v and %d heads requests, want none", chains, heads)
	}
	client.Later(v.c, 2*time.Minute)
	dkg2(t, peer, v)
	if chains, heads := fetched(); chains != nil || heads != 1 {
		t.Fatalf("DKG two minutes on: chains of %v and %d heads requests, want no chain and 1", chains, heads)
	}

	// The peer rotates: its listed head is one the victim has not seen.
	peer.rotate(t)
	client.Later(v.c, 2*time.Minute)
	dkg2(t, peer, v)
	if chains, heads := fetched(); !slices.Equal(chains, []string{peer.fp}) || heads != 1 {
		t.Fatalf("after the peer's rotation: chains of %v and %d heads requests, want the peer's and 1", chains, heads)
	}

	// A listed head that no chain of the peer holds.
	client.Later(v.c, 2*time.Minute)
	proxy.setLie(rewriteJSON(t, func(p string) bool { return strings.HasSuffix(p, "/heads") }, func(_ string, hs *chusme.CeremonyHeads) {
		for i := range hs.Heads {
			if hs.Heads[i].Fingerprint == peer.fp {
				hs.Heads[i].Seq++
				hs.Heads[i].Hash = bytes.Repeat([]byte{7}, 32)
			}
		}
	}))
	info, err := peer.c.StartDKG(ctx, peer.key, 2, []string{v.fp, peer.fp})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.c.RunDKG(ctx, info.ID, v.key, nil)
	wantPeerKeyError(t, err, peer.fp, "does not hold")
	if chains, _ := fetched(); !slices.Equal(chains, []string{peer.fp}) {
		t.Fatalf("the lie made the victim fetch the chains of %v, want the peer's", chains)
	}
	if now, err := peer.c.Ceremony(ctx, info.ID); err != nil || len(now.Submitted) != 0 {
		t.Fatalf("Ceremony = %+v, %v; want no submission", now, err)
	}
}

// TestCeremonyHeadsParticipantsOnly: only a ceremony's participants may
// read its heads, which are every participant's current chain head in the
// ceremony's order.
func TestCeremonyHeadsParticipantsOnly(t *testing.T) {
	s := servertest.Start(t, "--registration", "open")
	ms := s.Members(t, 3)
	info, err := ms[0].Client.StartDKG(t.Context(), ms[0].Key, 2, servertest.Fingerprints(ms[:2]))
	if err != nil {
		t.Fatal(err)
	}
	url := s.URL + "/v1/ceremonies/" + info.ID + "/heads"
	var hs chusme.CeremonyHeads
	testkit.Do(t, "GET", url, ms[1].Access(t), nil).Want(t, http.StatusOK, &hs)
	if len(hs.Heads) != 2 {
		t.Fatalf("a participant got %d heads, want 2", len(hs.Heads))
	}
	for i, h := range hs.Heads {
		ch, err := ms[0].Client.Chain(t.Context(), info.Participants[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := ch.Head(); h.Fingerprint != info.Participants[i] || h.Seq != want.Seq || !bytes.Equal(h.Hash, want.Hash) {
			t.Fatalf("head %d = %+v, want %s at %v", i, h, info.Participants[i], want)
		}
	}
	testkit.Do(t, "GET", url, ms[2].Access(t), nil).Expect(t, http.StatusNotFound, chusme.CodeNotFound)
}
